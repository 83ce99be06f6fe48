// What every mechanism module does with links: create one or adopt what an earlier life of
// the forwarder left under its name (refusing what is not this connection's), put a side's
// addresses and routes on it, and remove links again.
import { AlreadyExistsError } from '../../../api/errors.js';
import type { Side } from '../../../sdk/tools/mechanism-module.js';
import type { EarlierLink, ExistingLink, ForwarderDataplane, ProgrammedLink } from '../../../sdk/networkservice/program-dataplane.js';
import { formatAddress, parseAddress } from '../../../sdk/tools/prefix.js';
import { ALIAS_PREFIX } from '../../alias.js';

/** What a link of ours must look like to be adopted as it is. */
export interface Wanted {
  alias: string;
  kind: string;
  vni?: number;
  remote?: string;
  /** veth: the other end, which must be there (and ours) too. */
  peer?: ProgrammedLink;
}

/**
 * What a mechanism adds to the links it makes for a connection's sides: no IPv6 link-local address from the
 * kernel (configure gives one to a side with IPv6), where the data plane can add it later.
 */
export const linkLocalOnDemand = (dp: ForwarderDataplane): { noLinkLocal?: true } => (dp.addLinkLocal ? { noLinkLocal: true } : {});

/** Whether a side carries IPv6 (an address, a route or a next hop). */
export const hasIPv6 = (side: Side): boolean => side.addrs.some((a) => a.includes(':')) || side.routes.some((r) => r.prefix.includes(':') || !!r.nextHop?.includes(':'));

/**
 * Addresses and routes of one side, pipelined (with IPv6, the link-local address too: see linkLocalOnDemand). A device route (no next hop) does not
 * need the address, so everything goes at once; a route via a next hop waits for the
 * addresses (the kernel wants the gateway reachable).
 */
export async function configure(dp: ForwarderDataplane, side: Side): Promise<void> {
  const route = (r: Side['routes'][number]) => dp.addRoute(side.netns, { prefix: r.prefix, dev: side.name, ...(r.nextHop ? { via: r.nextHop } : {}) });
  const direct = side.routes.filter((r) => !r.nextHop);
  const viaGateway = side.routes.filter((r) => r.nextHop);
  const linkLocal = dp.addLinkLocal && hasIPv6(side) ? [dp.addLinkLocal(side.netns, side.name)] : [];
  await Promise.all([...linkLocal, ...side.addrs.map((a) => dp.addAddress(side.netns, side.name, a)), ...direct.map(route)]);
  await Promise.all(viaGateway.map(route));
}

/** Deletes links (a missing one is fine). */
export async function removeLinks(dp: ForwarderDataplane, links: ProgrammedLink[]): Promise<void> {
  await Promise.all(links.map((l) => dp.deleteLink(l.netns, l.name).catch(() => false)));
}

/** Configures `side` on links just made or adopted; removes them when that fails. */
export async function configureOrRemove(dp: ForwarderDataplane, links: ProgrammedLink[], sides: Side[]): Promise<ProgrammedLink[]> {
  try {
    await Promise.all(sides.map((s) => configure(dp, s)));
  } catch (err) {
    await removeLinks(dp, links);
    throw err;
  }
  return links;
}

/** What the kernel has under each of these names (undefined: nothing, or no way to tell). */
async function inspect(dp: ForwarderDataplane, ends: ProgrammedLink[]): Promise<(ExistingLink | undefined)[]> {
  if (!dp.linkInfo) return ends.map(() => undefined);
  return Promise.all(ends.map((l) => dp.linkInfo!(l.netns, l.name).catch(() => undefined)));
}

/** Whether the links found are exactly what we would create, so they can be kept as they are. */
function adoptable(found: (ExistingLink | undefined)[], want: Wanted): boolean {
  return found.every(
    (f) => f !== undefined && f.alias === want.alias && f.kind === want.kind && (want.vni === undefined || f.vni === want.vni) && (want.remote === undefined || f.remote === want.remote),
  );
}

/**
 * Whose the links under our names are, when creating one failed with "already exists": ours
 * (they carry this connection's alias, or the dataplane's record says this connection made or
 * was making them: a forwarder killed before tagging a veth leaves both ends untagged), or
 * someone else's, which is refused with ALREADY_EXISTS: two connections never share an
 * interface name in a namespace, and nothing we did not make is ever deleted.
 */
function checkOwnership(dp: ForwarderDataplane, ends: ProgrammedLink[], found: (ExistingLink | undefined)[], alias: string): void {
  const recorded = dp.linksTagged?.(alias) ?? [];
  let mainRecorded = false;
  ends.forEach((l, i) => {
    const f = found[i];
    if (dp.linkInfo && !f) return;
    if (f?.alias === alias) return;
    if (recorded.some((r) => r.netns === l.netns && r.name === l.name)) {
      if (i === 0) mainRecorded = true;
      return;
    }
    if (i > 0 && mainRecorded && f && !f.alias) return;
    const owner = f?.alias?.startsWith(ALIAS_PREFIX) ? `connection ${f.alias.slice(ALIAS_PREFIX.length)}` : 'something outside this connection';
    throw new AlreadyExistsError(`interface "${l.name}" already exists in ${l.netns} (used by ${owner}); choose another interface name`);
  });
}

/**
 * Runs `create`. A link already there under our name is refused unless it is this connection's
 * (see checkOwnership). Ours, left by an earlier life of this forwarder: when it carries our alias
 * and is what we would create, it is kept as it is (same MAC, so the peer's ARP entry stays valid;
 * addresses and routes are re-applied idempotently); otherwise it is deleted and created anew.
 * Resolves true when adopted.
 */
export async function createOrAdopt(dp: ForwarderDataplane, link: ProgrammedLink, want: Wanted, create: () => Promise<void>): Promise<boolean> {
  try {
    await create();
    return false;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    const ends = want.peer ? [link, want.peer] : [link];
    const found = await inspect(dp, ends);
    checkOwnership(dp, ends, found, want.alias);
    if (dp.linkInfo && adoptable(found, want)) return true;
    await dp.deleteLink(link.netns, link.name);
    if (want.peer) await dp.deleteLink(want.peer.netns, want.peer.name).catch(() => false);
    await create();
    return false;
  }
}

/** "ADDR[/LEN]" in one spelling (IPv6 canonical, host length added), so the kernel's and ours compare. */
function canon(cidr: string): string {
  const [addr = '', len] = cidr.split('/');
  try {
    const a = parseAddress(addr);
    return `${formatAddress(a.family, a.value)}/${len ?? (a.family === 4 ? 32 : 128)}`;
  } catch {
    return cidr;
  }
}

/**
 * Whether `side` is configured on `found`: every address, route and IPv6 proxy entry it wants is there
 * (more addresses are left alone: the workload may have put its own on its interface).
 */
function configuredAs(found: EarlierLink, side: Side): boolean {
  const have = new Set(found.addrs.map(canon));
  const want = new Set(side.addrs.map(canon));
  if ([...want].some((a) => !have.has(a))) return false;
  const routes = new Set(found.routes.map((r) => `${canon(r.prefix)}|${r.via ? canon(r.via) : ''}`));
  if (!side.routes.every((r) => routes.has(`${canon(r.prefix)}|${r.nextHop ? canon(r.nextHop) : ''}`))) return false;
  const proxies = new Set(found.proxies.map(canon));
  return [...want].filter((a) => a.includes(':')).every((a) => proxies.has(canon(a.split('/')[0]!)));
}

/**
 * After a restart: whether the links an earlier life of this forwarder made for this connection are
 * still there exactly as this Request wants them (kind, VNI and remote, up, and on each end `sides[i]`'s
 * addresses and routes), checked against one dump per namespace (ForwarderDataplane.earlierLink): then
 * they are kept without a single kernel command. Links of ours that differ (other addresses, say) are
 * deleted, so the caller builds them anew; when the dataplane cannot tell, the caller goes the usual way
 * (createOrAdopt, then configure). `ends[0]` is the link recorded when it was made; `ends[i]` carries `sides[i]`.
 */
export async function keptInPlace(dp: ForwarderDataplane, ends: ProgrammedLink[], want: Wanted, sides: Side[]): Promise<boolean> {
  if (!dp.earlierLinks) return false;
  const found = await dp.earlierLinks(want.alias, ends).catch(() => undefined);
  if (!found || !adoptable(found, want)) return false;
  if (found.every((f, i) => f.up && configuredAs(f, sides[i]!))) return true;
  await removeLinks(dp, ends);
  return false;
}
