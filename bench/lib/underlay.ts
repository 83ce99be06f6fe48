// The benches' two-node underlay: a bridge in namespace `ul` and one veth per node (eth0 with 198.18.0.N/15).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const ip = (...a: string[]) => promisify(execFile)('ip', a);

/** Node i (from 0) gets 198.18.0.<i+1>/15 on its eth0, bridged in `ul`. */
export async function bridgeUnderlay(ul: string, nodes: string[]): Promise<void> {
  await ip('-n', ul, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', ul, 'link', 'set', 'br0', 'up');
  for (const [i, n] of nodes.entries()) {
    await ip('link', 'add', 'eth0', 'netns', n, 'type', 'veth', 'peer', 'name', `u${i + 1}`, 'netns', ul);
    await ip('-n', ul, 'link', 'set', `u${i + 1}`, 'master', 'br0', 'up');
    await ip('-n', n, 'addr', 'add', `198.18.0.${i + 1}/15`, 'dev', 'eth0');
    await ip('-n', n, 'link', 'set', 'eth0', 'up');
  }
}
