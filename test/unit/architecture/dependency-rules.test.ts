// The dependency rules of .dependency-cruiser.cjs (DESIGN section 3) catch wrong arrows:
// each case builds a tiny src/ tree in a temporary directory and cruises it with the
// project's own rules. (scripts/test.sh runs the same rules over the real src/.)
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cruise, type IConfiguration, type IReporterOutput } from 'dependency-cruiser';

const rules = createRequire(import.meta.url)('../../../.dependency-cruiser.cjs') as IConfiguration;
const roots: string[] = [];

/** Cruises `files` (path -> source) laid out under a fresh directory; returns the violated rule names. */
async function violations(files: Record<string, string>): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'nsm-deprules-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const result: IReporterOutput = await cruise(['src'], {
    baseDir: root,
    validate: true,
    ruleSet: { forbidden: rules.forbidden ?? [] },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  });
  if (typeof result.output === 'string') throw new Error(result.output);
  return result.output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
}

after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('dependency rules', () => {
  it('allow the arrows of the architecture', async () => {
    assert.deepEqual(
      await violations({
        'src/api/errors.ts': 'export class E extends Error {}\n',
        'src/sdk/core/ctx.ts': "import { E } from '../../api/errors.js';\nexport const e = E;\n",
        'src/sdk/tools/ip4.ts': "import { e } from '../core/ctx.js';\nexport const t = e;\n",
        'src/sdk/networkservice/heal.ts': "import { t } from '../tools/ip4.js';\nexport interface Check { ok: boolean }\nexport const h = t;\n",
        'src/sdk/chains/client.ts': "import { h } from '../networkservice/heal.js';\nexport const c = h;\n",
        'src/dataplane/ping.ts': "import type { Check } from '../sdk/networkservice/heal.js';\nimport { t } from '../sdk/tools/ip4.js';\nexport const p: Check = { ok: !!t };\n",
        'src/components/client.ts': "import { c } from '../sdk/chains/client.js';\nimport { p } from '../dataplane/ping.js';\nexport const k = [c, p];\n",
        'src/cmd/nsc.ts': "import { k } from '../components/client.js';\nexport const n = k;\n",
      }),
      [],
    );
  });

  it('let api and the data plane share the libc bindings of src/sys, which import nothing of the project', async () => {
    assert.deepEqual(
      await violations({
        'src/sys/libc.ts': "import { E } from '../api/errors.js';\nexport const libc = () => E;\n",
        'src/api/errors.ts': 'export class E extends Error {}\n',
        'src/api/peer.ts': "import { libc } from '../sys/libc.js';\nexport const p = libc;\n",
        'src/dataplane/rtnl.ts': "import { libc } from '../sys/libc.js';\nexport const r = libc;\n",
      }),
      ['sys-is-a-leaf: src/sys/libc.ts -> src/api/errors.ts'],
    );
  });

  it('reject the sdk importing the data plane', async () => {
    assert.deepEqual(
      await violations({
        'src/dataplane/netns.ts': 'export const ns = 1;\n',
        'src/sdk/core/wrong.ts': "import { ns } from '../../dataplane/netns.js';\nexport const w = ns;\n",
      }),
      ['sdk-core-over-api-only: src/sdk/core/wrong.ts -> src/dataplane/netns.ts'],
    );
  });

  it('reject api importing the sdk, and a cycle', async () => {
    const found = await violations({
      'src/sdk/core/errors.ts': "import { u } from '../../api/transport.js';\nexport class E extends Error {}\nexport const x = u;\n",
      'src/api/transport.ts': "import { E } from '../sdk/core/errors.js';\nexport const u = () => new E();\n",
    });
    assert.ok(found.includes('api-is-the-bottom: src/api/transport.ts -> src/sdk/core/errors.ts'), found.join('\n'));
    assert.ok(found.some((v) => v.startsWith('no-circular: ')), found.join('\n'));
  });

  it('reject an implementation importing an element (not just its types), a chain or a component', async () => {
    assert.deepEqual(
      await violations({
        'src/sdk/networkservice/heal.ts': 'export const heal = 1;\n',
        'src/sdk/chains/client.ts': 'export const chain = 1;\n',
        'src/components/client.ts': 'export const comp = 1;\n',
        'src/registry/store.ts':
          "import { heal } from '../sdk/networkservice/heal.js';\nimport { chain } from '../sdk/chains/client.js';\nimport { comp } from '../components/client.js';\nexport const s = [heal, chain, comp];\n",
      }),
      [
        'implementations-below-chains: src/registry/store.ts -> src/components/client.ts',
        'implementations-below-chains: src/registry/store.ts -> src/sdk/chains/client.ts',
        'implementations-take-only-types-from-elements: src/registry/store.ts -> src/sdk/networkservice/heal.ts',
      ],
    );
  });

  it('reject an element importing a chain and a chain importing a component', async () => {
    assert.deepEqual(
      await violations({
        'src/components/nsmgr.ts': 'export const comp = 1;\n',
        'src/sdk/chains/nsmgr.ts': "import { comp } from '../../components/nsmgr.js';\nexport const chain = comp;\n",
        'src/sdk/networkservice/discover.ts': "import { chain } from '../chains/nsmgr.js';\nexport const d = chain;\n",
      }),
      [
        'sdk-chains-inside-sdk: src/sdk/chains/nsmgr.ts -> src/components/nsmgr.ts',
        'sdk-elements-over-tools: src/sdk/networkservice/discover.ts -> src/sdk/chains/nsmgr.ts',
      ],
    );
  });
});
