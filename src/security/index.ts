// Identity and transport security: a mesh CA and SVIDs, identity from files, mTLS for gRPC and
// SVID-signed path tokens. `installIdentity` turns both on for the whole process.

export { createCa, issueSvid, loadCa, type CaFiles, type LoadedCa, type Svid, type SvidUsage } from './ca.js';
export { IdentityProvider, parseIdentity, type CurrentIdentity, type IdentityMaterial } from './identity.js';
export { watchIdentityFiles, type IdentityFiles, type WatchedIdentity } from './identity-files.js';
export { mtlsTransport, peerSpiffeId } from './mtls.js';
export { SPIFFE_KINDS, spiffeId, parseSpiffeId, spiffeIdFromSan, trustDomainOf, type SpiffeKind } from './spiffe-id.js';
export { svidTokenTrust } from './svid-token.js';
export { TrustBundle, splitPem } from './trust-bundle.js';
export { installIdentity } from './install.js';

