// Factories of a forwarder's managed data plane: any ForwarderDataplane wrapped in a
// LinkLedger (so a restarted forwarder knows its own links), and the kernel one the
// `nsm forwarder` command runs (KernelDriver + ledger beside the forwarder's socket).
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { parseMeshUrl } from '../api/transport.js';
import type { ManagedDataplane } from '../sdk/networkservice/managed-dataplane.js';
import type { ForwarderDataplane } from '../sdk/networkservice/program-dataplane.js';
import { KernelDriver } from './kernel-driver.js';
import { cleanupLines } from './mechanisms/srv6/names.js';
import { LinkLedger } from './link-ledger.js';
import { DumpCache } from './dump-cache.js';
import { dumpNetns, type NetnsDump } from './netns-dump.js';
import { resolveNetns } from './netns.js';

const run = promisify(execFile);

/** Where a forwarder keeps its ledger: beside its unix socket, or in /var/lib/networkservicemesh. */
export function defaultLedgerFile(listenUrl: string, name: string): string {
  const u = parseMeshUrl(listenUrl);
  return `${u.kind === 'unix' ? dirname(u.path) : '/var/lib/networkservicemesh'}/${name}.links.json`;
}

/**
 * `ops` with every link it creates or deletes recorded in the ledger file; with `dump`, links of an
 * earlier life are checked against one dump per namespace (reused for a few seconds) when their
 * connections come back.
 */
export function ledgeredDataplane(ops: ForwarderDataplane & { close?(): void }, opts: { ledgerFile: string; log?: Logger; dump?: (netns: string) => Promise<NetnsDump> }): ManagedDataplane {
  const ledger = new LinkLedger(opts.ledgerFile, opts.log);
  const dumps = opts.dump && ledger.orphanCount > 0 ? new DumpCache(opts.dump) : undefined;
  return {
    ...ledger.track(ops, dumps ? (netns) => dumps.get(netns) : undefined),
    get orphanCount() {
      return ledger.orphanCount;
    },
    claimedCount: () => ledger.claimedCount,
    sweepOrphans: () => ledger.sweep(ops),
    close: () => {
      ops.close?.();
      ledger.close();
    },
  };
}

export interface KernelDataplaneOptions {
  /** The forwarder's name and listen URL place its ledger (unless `ledgerFile` is given). */
  name: string;
  listenUrl: string;
  ledgerFile?: string;
  log?: Logger;
}

/** The real data plane: the kernel through long-lived ip channels, with a ledger of its links. */
export function kernelDataplane(opts: KernelDataplaneOptions): ManagedDataplane {
  const driver = new KernelDriver(opts.log ? { logger: opts.log } : {});
  const ops: ForwarderDataplane & { close(): void } = {
    createVeth: (spec) => driver.createVeth(spec),
    createVxlan: (spec) => driver.createVxlan(spec),
    setVxlanRemote: (netns, name, remote) => driver.setVxlanRemote(netns, name, remote),
    addAddress: (netns, ifname, cidr) => driver.addAddress(netns, ifname, cidr),
    addLinkLocal: (netns, name) => driver.addLinkLocal(netns, name),
    addRoute: (netns, route) => driver.addRoute(netns, route),
    linkInfo: (netns, name) => driver.linkInfo(netns, name),
    ipLines: (netns, lines, ignore, family) => driver.runLines(netns, lines, ignore, family),
    setSysctl: (netns, key, value) => driver.setSysctl(netns, key, value),
    deviceOf: async (ip) => {
      const { stdout } = await run('ip', ['-j', 'addr', 'show', 'to', ip]);
      return (JSON.parse(stdout || '[]') as { ifname?: string }[])[0]?.ifname;
    },
    // A mechanism's rules and tables that do not go with its link go right after it (SRv6).
    deleteLink: async (netns, name) => {
      const existed = await driver.deleteLink(netns, name);
      const extra = cleanupLines(name);
      const warn = (err: unknown) => opts.log?.warn({ link: name, err: String(err) }, 'SRv6 rule cleanup');
      if (extra.v4.length > 0) await driver.runLines(netns, extra.v4).catch(warn);
      // IPv6: a rule only where the connection carried IPv6 (nothing there is no error).
      if (extra.v6.length > 0) await driver.runLines(netns, extra.v6, /No such file|Cannot find|does not exist|FIB table does not exist/i, 6).catch(warn);
      return existed;
    },
    close: () => driver.close(),
  };
  return ledgeredDataplane(
    ops,
    {
      ledgerFile: opts.ledgerFile ?? defaultLedgerFile(opts.listenUrl, opts.name),
      dump: async (netns) => dumpNetns(await resolveNetns(netns)),
      ...(opts.log ? { log: opts.log } : {}),
    },
  );
}
