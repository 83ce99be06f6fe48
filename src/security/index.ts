// Identity and transport security: a mesh CA and SVIDs, identity from files, mTLS for gRPC and
// SVID-signed path tokens. `installIdentity` turns both on for the whole process.
import { setTransportSecurity } from '../api/transport.js';
import { setTokenTrust } from '../sdk/core/token.js';
import type { IdentityProvider } from './identity.js';
import { mtlsTransport } from './mtls.js';
import { svidTokenTrust } from './svid-token.js';

export { createCa, issueSvid, loadCa, type CaFiles, type LoadedCa, type Svid, type SvidUsage } from './ca.js';
export { IdentityProvider, parseIdentity, type CurrentIdentity, type IdentityMaterial } from './identity.js';
export { watchIdentityFiles, type IdentityFiles, type WatchedIdentity } from './identity-files.js';
export { mtlsTransport, peerSpiffeId } from './mtls.js';
export { SPIFFE_KINDS, spiffeId, parseSpiffeId, spiffeIdFromSan, trustDomainOf, type SpiffeKind } from './spiffe-id.js';
export { svidTokenTrust } from './svid-token.js';
export { TrustBundle, splitPem } from './trust-bundle.js';

/** mTLS on every server and channel and SVID-signed tokens from now on (undefined: back to insecure). */
export function installIdentity(identity: IdentityProvider | undefined): void {
  setTransportSecurity(identity ? mtlsTransport(identity) : undefined);
  setTokenTrust(identity ? svidTokenTrust(identity) : undefined);
}
