// The `nsm-cni` executable: reads the network configuration from stdin, runs the plugin with the
// CNI_* environment, prints the result or the CNI error object, and exits. Imports nothing heavy.
import { runPlugin } from './plugin.js';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += String(chunk);
const out = await runPlugin(process.env, input);
process.stdout.write(out.stdout, () => process.exit(out.code));
