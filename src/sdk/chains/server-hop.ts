// The head every server hop's chain starts with (nsmgr, forwarder, endpoint):
// malformed input refused, its path segment, per-connection serialization, the caller's token checked,
// Close and re-Request only by the caller that established the connection,
// its own token signed, expiry of unrefreshed connections, and its monitor.
import type { NetworkServiceElement } from '../core/chain.js';
import { begin } from '../core/begin.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { authorize } from '../networkservice/authorize.js';
import { connectionOwner } from '../networkservice/connection-owner.js';
import type { ConnectionMonitor } from '../networkservice/monitor.js';
import { timeout } from '../networkservice/timeout.js';
import { updatePath } from '../networkservice/updatepath.js';
import { updateToken } from '../networkservice/updatetoken.js';
import { validateRequest } from '../networkservice/validate-request.js';

/** `clock` (default real time) drives token expiry checks and the expiry of unrefreshed connections. */
export function serverHop(name: string, signer: TokenSigner, monitor: ConnectionMonitor, clock?: Clock): NetworkServiceElement[] {
  return [validateRequest(), updatePath(name, { server: true }), begin(), authorize(clock ? { clock } : {}), connectionOwner(), updateToken(signer, clock), timeout(clock), monitor.element()];
}
