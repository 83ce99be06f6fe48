// A dashboard input shaped like the demo mesh (two nodes, a local and a remote connection) plus a
// connection only the nsmgrs know (a client started by hand), for the dashboard's unit tests.
import type { DashInput } from '../../../src/observability/dashboard/index.js';

const comp = (name: string, kind: string, node?: string) => ({ name, kind, ...(node ? { node } : {}), pid: 100, state: 'running', restarts: 0 });

export function demoInput(over: { nsc2State?: string } = {}): DashInput {
  return {
    time: 1_000,
    errors: [],
    status: {
      name: 'demo',
      phase: 'up',
      components: [
        comp('registry', 'registry'),
        comp('nsmgr-node-1', 'nsmgr', 'node-1'),
        comp('forwarder-node-1', 'forwarder', 'node-1'),
        comp('nsmgr-node-2', 'nsmgr', 'node-2'),
        comp('forwarder-node-2', 'forwarder', 'node-2'),
        comp('nse-a', 'endpoint', 'node-1'),
        comp('nse-b', 'endpoint', 'node-2'),
        comp('nsc-1', 'client', 'node-1'),
        comp('nsc-2', 'client', 'node-1'),
      ],
      workloads: [
        { name: 'nse-a', kind: 'endpoint', node: 'node-1' },
        { name: 'nse-b', kind: 'endpoint', node: 'node-2' },
        { name: 'nsc-1', kind: 'client', node: 'node-1' },
        { name: 'nsc-2', kind: 'client', node: 'node-1' },
      ],
      connections: [
        { id: 'c1', client: 'nsc-1', service: 'local-ping', endpoint: 'nse-a', mechanism: 'KERNEL', interface: 'nsm-1', srcIp: '169.254.10.1/32', dstIp: '169.254.10.2/32', path: ['nsc-1', 'nsmgr-node-1', 'forwarder-node-1', 'nse-a'], state: 'UP' },
        {
          id: 'c2', client: 'nsc-2', service: 'remote-ping', endpoint: 'nse-b', mechanism: 'KERNEL', remoteMechanism: 'VXLAN', interface: 'nsm-1', srcIp: '169.254.20.1/32', dstIp: '169.254.20.2/32',
          path: ['nsc-2', 'nsmgr-node-1', 'forwarder-node-1', 'nsmgr-node-2', 'forwarder-node-2', 'nse-b'], state: over.nsc2State ?? 'UP',
        },
      ],
    },
    monitored: [
      {
        id: 'c1', service: 'local-ping', state: 'UP', mechanism: 'KERNEL',
        segments: [
          { name: 'nsc-1', id: 'c1', metrics: {} },
          { name: 'nsmgr-node-1', id: 's2', metrics: {} },
          { name: 'forwarder-node-1', id: 's3', metrics: { 'nsm-1_rx_bytes': '1000', 'nsm-1_tx_bytes': '2000', 'nsm-1_rx_packets': '10', 'nsm-1_tx_packets': '20', 'nsm-1_drops': '0' } },
          { name: 'nse-a', id: 's4', metrics: {} },
        ],
      },
      {
        id: 'h1', service: 'remote-ping', state: 'UP', mechanism: 'KERNEL',
        segments: [
          { name: 'by-hand', id: 'h1', metrics: {} },
          { name: 'nsmgr-node-2', id: 'h2', metrics: {} },
          { name: 'forwarder-node-2', id: 'h3', metrics: {} },
          { name: 'nse-b', id: 'h4', metrics: {} },
        ],
      },
    ],
  };
}
