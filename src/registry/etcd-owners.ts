// Who registered each endpoint name (registry-owner's OwnerStore) kept in etcd beside the registrations,
// under `<prefix>/owners/<name>` as JSON, so a restarted registry (or another one on the same cluster)
// still refuses a writer that is not the registrant. A claim past its expiry is deleted when read.
import type { Etcd3 } from 'etcd3';
import type { OwnerStore, RegistrationOwner } from '../sdk/registry/owner.js';

function parse(text: string | null): RegistrationOwner | undefined {
  if (!text) return undefined;
  try {
    const o = JSON.parse(text) as Partial<RegistrationOwner>;
    if (typeof o.url !== 'string') return undefined;
    return {
      url: o.url,
      ...(typeof o.spiffeId === 'string' ? { spiffeId: o.spiffeId } : {}),
      ...(typeof o.instance === 'string' ? { instance: o.instance } : {}),
      ...(typeof o.expires === 'number' ? { expires: o.expires } : {}),
    };
  } catch {
    return undefined; // not ours or damaged: as if nobody claimed the name
  }
}

export function etcdOwnerStore(client: Etcd3, prefix: string, now: () => number = Date.now): OwnerStore {
  const key = (name: string) => `${prefix}/owners/${name}`;
  return {
    async get(name) {
      const o = parse(await client.get(key(name)).string());
      if (o?.expires !== undefined && o.expires <= now()) {
        await client.delete().key(key(name)).catch(() => undefined);
        return undefined;
      }
      return o;
    },
    async put(name, owner) {
      await client.put(key(name)).value(JSON.stringify(owner));
    },
    async delete(name) {
      await client.delete().key(key(name));
    },
  };
}
