// dpdk-testpmd as the userspace data plane: the command line of one supervised instance (EAL flags
// for a machine without hugepages, memif/af_packet/vhost ports, a forwarding mode) and the parser of
// the port statistics it prints. The instance is tagged by its --file-prefix ("nsm-<role>-<hash>").
import { createHash } from 'node:crypto';

export const TESTPMD = process.env.NSM_DPDK_TESTPMD ?? 'dpdk-testpmd';

/** One port: a DPDK virtual device (`--vdev NAME,k=v,...`). */
export type Port =
  | { kind: 'memif'; role: 'server' | 'client'; socket: string }
  | { kind: 'af_packet'; iface: string }
  | { kind: 'vhost'; socket: string }
  | { kind: 'virtio_user'; socket: string };

/** testpmd forwarding modes used here: io (cross-connect), macswap (bounce back), flowgen (send, count what comes back). */
export type ForwardMode = 'io' | 'macswap' | 'flowgen';

export interface TestpmdSpec {
  /** The tag: what --file-prefix carries (unique per instance, found again in /proc/PID/cmdline). */
  tag: string;
  ports: Port[];
  mode: ForwardMode;
  /** The CPU both lcores (main and forwarding) are pinned to: one core at most. */
  cpu: number;
  /** Seconds between statistics printouts (also what keeps testpmd running without a terminal). */
  statsPeriod?: number;
}

/** A short stable hash of a connection id, for tags and directory names. */
export const connHash = (connId: string): string => createHash('sha256').update(connId).digest('hex').slice(0, 12);

/** The tag of one instance: "nsm-<role>-<hash of the connection id>". */
export const tagOf = (role: string, connId: string): string => `nsm-${role}-${connHash(connId)}`;

function vdev(p: Port, i: number): string {
  switch (p.kind) {
    case 'memif':
      return `net_memif${i},role=${p.role},socket=${p.socket},socket-abstract=no`;
    case 'af_packet':
      return `net_af_packet${i},iface=${p.iface}`;
    case 'vhost':
      return `net_vhost${i},iface=${p.socket},queues=1`;
    case 'virtio_user':
      return `net_virtio_user${i},path=${p.socket},queues=1`;
  }
}

export function testpmdArgs(s: TestpmdSpec): string[] {
  return [
    `--lcores=0@${s.cpu},1@${s.cpu}`,
    '--no-huge', '-m', '256', '--no-pci', '--no-shconf',
    '--log-level=lib.eal:warning',
    '--file-prefix', s.tag,
    ...s.ports.flatMap((p, i) => ['--vdev', vdev(p, i)]),
    '--',
    '--total-num-mbufs=16384',
    `--forward-mode=${s.mode}`,
    '--auto-start',
    // Forwarding starts at once: a memif server waits for its peer and a restarted cross-connect must not
    // wait seconds for links to come up (testpmd's link check) before the connection can heal.
    '--disable-link-check',
    `--stats-period=${s.statsPeriod ?? 1}`,
    // Without it testpmd may pair ports differently; io mode must join port 0 and port 1.
    '--port-topology=paired',
  ];
}

export interface PortStats {
  rxPackets: number;
  txPackets: number;
}

/**
 * Per port, the highest RX/TX packet counts testpmd printed (its periodic "NIC statistics for port N"
 * blocks and the "Forward statistics for port N" it prints at exit).
 */
export function parseStats(out: string): PortStats[] {
  const stats: PortStats[] = [];
  const re = /(?:NIC|Forward) statistics for port (\d+)[\s#-]*RX-packets:\s*(\d+)[\s\S]*?TX-packets:\s*(\d+)/g;
  for (const m of out.matchAll(re)) {
    const port = Number(m[1]);
    const cur = stats[port] ?? { rxPackets: 0, txPackets: 0 };
    stats[port] = { rxPackets: Math.max(cur.rxPackets, Number(m[2])), txPackets: Math.max(cur.txPackets, Number(m[3])) };
  }
  return Array.from(stats, (s) => s ?? { rxPackets: 0, txPackets: 0 });
}
