// An in-process registry on a unix socket in a temp dir, and small helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropChannel, type NetworkServiceEndpoint, type NetworkServiceEndpointResponse } from '../../../src/api/index.js';
import { startRegistry, type RegistryOptions, type RunningRegistry } from '../../../src/components/registry.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { registryClients } from '../../../src/sdk/registry/client.js';

export interface TestRegistry {
  reg: RunningRegistry;
  dir: string;
  /** Every live NSE in the registry (asked directly, not through a proxy). */
  direct(name?: string): Promise<NetworkServiceEndpoint[]>;
  stop(): Promise<void>;
}

export async function testRegistry(opts: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-reg-proxy-'));
  const reg = await startRegistry({ ...opts, listen: `unix://${dir}/registry.sock` });
  return {
    reg,
    dir,
    async direct(name = '') {
      const out: NetworkServiceEndpoint[] = [];
      for await (const r of registryClients(reg.url).nse.find({ networkServiceEndpoint: { name }, watch: false }, { signal: AbortSignal.timeout(5000) })) {
        if (!r.deleted && r.networkServiceEndpoint) out.push(r.networkServiceEndpoint);
      }
      return out;
    },
    async stop() {
      dropChannel(reg.url);
      await reg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ctx = () => newCtx({ timeoutMs: 5000 });

export async function collect(stream: AsyncIterable<NetworkServiceEndpointResponse>): Promise<NetworkServiceEndpoint[]> {
  const out: NetworkServiceEndpoint[] = [];
  for await (const r of stream) if (!r.deleted && r.networkServiceEndpoint) out.push(r.networkServiceEndpoint);
  return out;
}

export const inMs = (ms: number) => new Date(Date.now() + ms);
