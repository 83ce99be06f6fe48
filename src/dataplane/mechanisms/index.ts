// The registry of mechanism modules: one line per mechanism. A forwarder's remote list
// (its priority order) is picked from these by name; unknown names are skipped.
import { InvalidArgumentError } from '../../api/errors.js';
import type { LocalMechanism, MechanismRegistry, RemoteMechanism } from '../../sdk/tools/mechanism-module.js';
import { ipsec } from './ipsec/index.js';
import { kernel } from './kernel/index.js';
import { memif } from './memif/index.js';
import { makeSrv6, srv6, type Srv6Options } from './srv6/index.js';
import { vhostuser } from './vhostuser/index.js';
import { vxlan } from './vxlan/index.js';
import { wireguard } from './wireguard/index.js';

export const LOCAL_MECHANISMS: LocalMechanism[] = [kernel, memif, vhostuser];
export const REMOTE_MECHANISMS: RemoteMechanism[] = [vxlan, srv6, wireguard, ipsec];

/** The remote mechanisms' names, in default priority order. */
export const remoteMechanismNames = (): string[] => REMOTE_MECHANISMS.map((m) => m.name);

/**
 * The registry for a forwarder whose remote preference is `names` (case-insensitive, in priority
 * order; default: every remote mechanism). Names this build does not know are left out and
 * reported in `skipped`; a list with no known name is an error naming what is supported.
 */
export function mechanismRegistry(names?: string[], opts: { srv6?: Srv6Options } = {}): MechanismRegistry & { skipped: string[] } {
  const configured = (m: RemoteMechanism) => (m === srv6 && opts.srv6 ? makeSrv6(opts.srv6) : m);
  if (!names) return { local: LOCAL_MECHANISMS, remote: REMOTE_MECHANISMS.map(configured), skipped: [] };
  const remote: RemoteMechanism[] = [];
  const skipped: string[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    const m = REMOTE_MECHANISMS.find((r) => r.name === name);
    if (!m) skipped.push(raw.trim());
    else if (!remote.some((r) => r.type === m.type)) remote.push(configured(m));
  }
  if (remote.length === 0) {
    throw new InvalidArgumentError(`no supported remote mechanism in ${JSON.stringify(names.join(','))} (supported: ${remoteMechanismNames().join(', ')})`);
  }
  return { local: LOCAL_MECHANISMS, remote, skipped };
}

export { ipsec, kernel, memif, srv6, vhostuser, vxlan, wireguard };
