// Mutual TLS for gRPC from this process's identity: servers require a client certificate chained to
// the trust bundle (OpenSSL also checks its clientAuth EKU), channels check the server's chain and that
// its SPIFFE ID is in an accepted trust domain (no host names: checkServerIdentity looks at the URI SAN).
import { experimental, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { TransportSecurity } from '../api/transport.js';
import type { IdentityProvider } from './identity.js';
import { spiffeIdFromSan, trustDomainOf } from './spiffe-id.js';


/** The trust domains accepted from peers: the bundle's, or our own when the bundle names none. */
function acceptedDomains(identity: IdentityProvider): Set<string> {
  const cur = identity.current;
  return cur.bundle.trustDomains.size > 0 ? cur.bundle.trustDomains : new Set([trustDomainOf(cur.spiffeId)!]);
}

/** The SPIFFE ID of a verified peer certificate, refused when it has none or one outside the accepted trust domains. */
export function peerSpiffeId(identity: IdentityProvider, cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): string {
  const id = spiffeIdFromSan(cert?.subjectaltname);
  if (!id) throw new Error('peer certificate has no single spiffe:// URI SAN');
  const td = trustDomainOf(id)!;
  if (!acceptedDomains(identity).has(td)) throw new Error(`peer ${id} is outside the trust domain(s) ${[...acceptedDomains(identity)].join(', ')}`);
  return id;
}

export function mtlsTransport(identity: IdentityProvider): TransportSecurity {
  // One provider object gives grpc-js both the CA bundle and our SVID (rotations flow through it).
  const server: ServerCredentials = experimental.createCertificateProviderServerCredentials(identity, identity, true);
  const channel: ChannelCredentials = experimental.createCertificateProviderChannelCredentials(identity, identity, {
    checkServerIdentity: (_host, cert) => {
      try {
        peerSpiffeId(identity, cert);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    },
  });
  return {
    serverCredentials: () => server,
    channelCredentials: () => channel,
    peerId: (cert) => peerSpiffeId(identity, cert),
  };
}
