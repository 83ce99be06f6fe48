// Diagnostic: local Requests (the `local` phase's setup: one node, registry, nsmgr with its forwarder in process and
// background removal, icmp-responder, an in-process client): wall-clock p50 and the CPU each mesh process spends per
// Request+Close, alone or as an A/B of two such meshes in alternating blocks (bench/lib/ab-blocks.ts). `--gap-b MS`:
// side B pauses MS after each Close (a check of what the previous Close's link removal costs the next Request).
//   node --import tsx bench/local-ab.ts [runs] [--b NSM_X=0] [--gap-b MS] [--block K] [--gap MS] [--json]
import { MeshClient } from '../src/components/client.js';
import { freePort } from '../test/e2e/helpers/mesh.js';
import { runAb } from './lib/ab-blocks.js';

await runAb(async (env, { label, mesh, netns }) => {
  const [clientNs, e] = [await netns('c'), await netns('e')];
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const procs = [
    await mesh.registry({ listen: reg, env }),
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg, env, withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } }),
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: e, cidr: '169.254.0.0/16', env }),
  ];
  return { client: await MeshClient.create({ name: `nsc-${label}`, nsmgrUrl }), clientNs, procs };
});
