// The client chain (assembly only): the first hop of every path; keeps its
// connections refreshed and sends them to the local nsmgr.
import type { NetworkServiceElement, NetworkServiceHandler } from '../core/chain.js';
import { chain } from '../core/chain.js';
import { begin } from '../core/begin.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { connect } from '../networkservice/connect.js';
import { deadlineGuard } from '../networkservice/deadline-guard.js';
import { refresh } from '../networkservice/refresh.js';
import { updatePath } from '../networkservice/updatepath.js';
import { updateToken } from '../networkservice/updatetoken.js';

export interface ClientChainOptions {
  name: string;
  nsmgrUrl: string;
  signer: TokenSigner;
  /** Time for refresh (default real time; the sandbox passes a fake). */
  clock?: Clock;
  /** Elements between refresh and connect (e.g. heal). */
  extra?: NetworkServiceElement[];
  onRefreshError?: (connId: string, err: unknown) => void;
}

export function newClientChain(opts: ClientChainOptions): NetworkServiceHandler {
  return chain(
    // First: the caller's Request and Close end by their deadline whatever the elements below do.
    deadlineGuard(),
    updatePath(opts.name),
    begin(),
    updateToken(opts.signer, opts.clock),
    refresh({ ...(opts.onRefreshError ? { onError: opts.onRefreshError } : {}), ...(opts.clock ? { clock: opts.clock } : {}) }),
    ...(opts.extra ?? []),
    connect(() => opts.nsmgrUrl),
  );
}
