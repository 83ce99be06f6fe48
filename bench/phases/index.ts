// The phase registry of `npm run bench`: phases run in this order. To add a phase, add one line: either a
// Phase from its own file in bench/phases/, or childPhase(name, script, figures, options) for a bench script
// that prints `{ "results": [...] }` as JSON on stdout.
import { add, childPhase, IPERF_REPS, IPERF_SECONDS, log, QUICK, wanted, type Phase } from '../lib/harness.js';
import { vl3Phase } from '../vl3.js';
import { chain } from './chain.js';
import { cni } from './cni.js';
import { heal } from './heal.js';
import { healStorm } from './heal-storm.js';
import { local } from './local.js';
import { memoryGc } from './memory-gc.js';
import { metrics } from './metrics.js';
import { notYet } from './not-yet.js';
import { registry } from './registry.js';
import { remote } from './remote.js';
import { scale } from './scale.js';

const iperfArgs = ['--reps', String(IPERF_REPS), '--seconds', String(IPERF_SECONDS)];
/** Remote mechanisms against their hand-made tunnels: more reps (ABBA-alternated), the ratios move a lot on a shared machine. */
const tunnelArgs = ['--reps', String(QUICK ? 1 : 5), '--seconds', String(IPERF_SECONDS)];

export const PHASES: Phase[] = [
  local,
  metrics,
  remote,
  chain,
  childPhase('ipv6', 'throughput-ipv6.ts', ['throughput.kernel.ipv6'], { argv: iperfArgs }),
  childPhase('srv6', 'throughput-srv6.ts', ['throughput.srv6', 'request.remote.p50.srv6'], { argv: tunnelArgs }),
  childPhase('wireguard', 'throughput-wireguard.ts', ['throughput.wireguard', 'request.remote.p50.wireguard'], { argv: tunnelArgs }),
  childPhase('security', 'security.ts', ['request.local.p50.mtls', 'request.remote.p50.mtls', 'tls.handshakes.per-second'], { argv: QUICK ? ['--quick'] : [], timeoutMs: 600_000 }),
  childPhase('ipsec', 'throughput-ipsec.ts', ['throughput.ipsec', 'request.remote.p50.ipsec'], { argv: tunnelArgs }),
  childPhase('memif', 'throughput-memif.ts', ['throughput.memif.mpps'], { argv: ['--reps', QUICK ? '2' : '3', '--seconds', '3'], timeoutMs: 300_000 }),
  heal,
  memoryGc,
  healStorm,
  scale,
  childPhase('memory', 'heap-per-connection.ts', ['memory.per-connection.heap'], { argv: [QUICK ? '200' : '500'], timeoutMs: 300_000 }),
  registry,
  childPhase('registry-k8s', 'registry-k8s.ts', ['registry.find.p50.k8s'], { argv: ['--json', '--count', QUICK ? '1000' : '10000', '--finds', QUICK ? '100' : '500'], timeoutMs: 900_000 }),
  cni,
  childPhase('dataplane', 'dataplane.ts', ['dataplane.'], { argv: [], env: { BENCH_RUNS: QUICK ? '10' : '20' } }),
  childPhase('liveness', 'liveness.ts', ['liveness.cpu.percent.1000'], { argv: ['--conns', '1000', '--ns', '100', '--seconds', QUICK ? '5' : '10'], timeoutMs: 300_000 }),
  { name: 'vl3', run: async () => (wanted('vl3.join.p50') ? vl3Phase({ quick: QUICK, add, log }) : undefined) },
  childPhase('vm', 'vm-boot.ts', ['vm.boot-to-ping.seconds'], { argv: ['--runs', QUICK ? '1' : '2'], timeoutMs: 2_400_000 }),
  notYet,
];
