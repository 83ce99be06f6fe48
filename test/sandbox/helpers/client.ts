// A sandbox client (NSC): the real client chain (MeshClient) in a fake namespace
// on one node, remembering its connections (heal replaces them) and heal states.
import type { Connection } from '../../../src/api/index.js';
import type { KernelRequest, MeshClient } from '../../../src/components/client.js';
import type { HealState } from '../../../src/sdk/networkservice/heal.js';
import { P } from '../../../src/sdk/tools/mechanisms.js';
import type { SandboxNode } from './node.js';

export class SandboxClient {
  mesh!: MeshClient;
  readonly netnsUrl: string;
  /** Open connections by id (latest version: heal replaces them). */
  readonly conns = new Map<string, Connection>();
  readonly states: { id: string; state: HealState }[] = [];
  private ifCounter = 0;

  constructor(
    readonly node: SandboxNode,
    readonly name: string,
  ) {
    this.netnsUrl = `file:///sandbox/${node.name}/${name}`;
  }

  onState(id: string, state: HealState, conn?: Connection): void {
    this.states.push({ id, state });
    if (conn) this.conns.set(id, conn);
  }

  async request(service = 'icmp-responder', r: Partial<Omit<KernelRequest, 'service' | 'netnsUrl'>> = {}): Promise<Connection> {
    const conn = await this.mesh.request({ service, ifname: r.ifname ?? `nsm-${++this.ifCounter}`, netnsUrl: this.netnsUrl, timeoutMs: r.timeoutMs ?? 5000, ...r });
    this.conns.set(conn.id, conn);
    return conn;
  }

  async close(conn: Connection): Promise<void> {
    const latest = this.conns.get(conn.id) ?? conn;
    this.conns.delete(conn.id);
    await this.mesh.close(latest, 5000);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.conns.values()].map((c) => this.close(c)));
  }

  /** The client's end of a connection in its node's fake kernel. */
  link(conn: Connection) {
    return this.node.kernel.link(this.netnsUrl, conn.mechanism?.parameters[P.name] ?? '');
  }
}
