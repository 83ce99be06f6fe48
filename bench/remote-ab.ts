// Diagnostic: remote Requests (the `remote` phase's setup: two nodes on an underlay bridge, registry on node-1, each
// nsmgr with its forwarder in process, icmp-responder on node-2, an in-process client on node-1): wall-clock p50 and
// the CPU each mesh process spends per Request+Close, alone or as an A/B of two such meshes in alternating blocks
// (bench/lib/ab-blocks.ts).
//   node --import tsx bench/remote-ab.ts [runs] [--b NSM_X=0] [--block K] [--gap MS] [--json]
import { MeshClient } from '../src/components/client.js';
import { freePort } from '../test/e2e/helpers/mesh.js';
import { runAb } from './lib/ab-blocks.js';
import { bridgeUnderlay } from './lib/underlay.js';

await runAb(async (env, { label, mesh, netns }) => {
  const [n1, n2, ul, clientNs, e] = [await netns('n1'), await netns('n2'), await netns('ul'), await netns('c'), await netns('e')];
  await bridgeUnderlay(ul, [n1, n2]);
  const reg = `tcp://198.18.0.1:${await freePort()}`;
  const procs = [await mesh.registry({ listen: reg, netns: n1, env })];
  for (const [i, n] of [n1, n2].entries()) {
    const k = i + 1;
    const withForwarder = { underlayIp: `198.18.0.${k}`, listen: mesh.sock(`fwd-${k}`), backgroundRemoval: true };
    procs.push(await mesh.nsmgr({ name: `nsmgr-${k}`, listen: mesh.sock(`nsmgr-${k}`), tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: reg, netns: n, env, withForwarder }));
  }
  procs.push(await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: e, cidr: '169.254.0.0/16', netns: n2, env }));
  return { client: await MeshClient.create({ name: `nsc-${label}`, nsmgrUrl: mesh.sock('nsmgr-1') }), clientNs, procs };
});
