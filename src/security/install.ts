// Turns this process's identity on for every gRPC server and channel (mTLS) and for path tokens (SVID
// signatures). Kept apart from the CA code so components that only load identity files never load the
// X.509 builder (@peculiar/x509 costs hundreds of ms of CPU at start).
import { setTransportSecurity } from '../api/transport.js';
import { setTokenTrust } from '../sdk/core/token.js';
import type { IdentityProvider } from './identity.js';
import { mtlsTransport } from './mtls.js';
import { svidTokenTrust } from './svid-token.js';

/** mTLS on every server and channel and SVID-signed tokens from now on (undefined: back to insecure). */
export function installIdentity(identity: IdentityProvider | undefined): void {
  setTransportSecurity(identity ? mtlsTransport(identity) : undefined);
  setTokenTrust(identity ? svidTokenTrust(identity) : undefined);
}
