// The live dashboard in headless Chromium (Debian's chromium, driven by playwright-core): the demo
// brought up with `nsm up --detach --dashboard PORT`; the page's graph holds every component and
// connection `nsm status --json` lists; a killed forwarder shows HEALING then UP without a reload.
// Screenshots go to $NSM_TEST_ARTIFACTS (default test-artifacts/) as dashboard-*.png.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureBuilt, freePort, ROOT, waitFor } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

const CHROMIUM = process.env.NSM_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.NSM_TEST_ARTIFACTS ?? join(ROOT, 'test-artifacts');
const uid = process.getuid?.() ?? 1;

interface Status {
  components: { name: string; kind: string; pid: number }[];
  connections: { id: string; client: string; service: string; state: string; path: string[] }[];
}

/** What the page shows, read from its graph and its connection table. */
interface PageView {
  updates: number;
  nodes: string[];
  hops: { conn: string; source: string; target: string }[];
  rows: { id: string; state: string }[];
  events: { id: string; state: string }[];
}

/** The browser's globals this test reads (the project compiles without the DOM library). */
interface Browserish {
  nsmDashboard?: {
    updates: number;
    view?: { connections: { state: string }[] };
    events: { id: string; state: string }[];
    cy: { nodes(s?: string): { map<T>(f: (n: { id(): string }) => T): T[] }; edges(s?: string): { map<T>(f: (e: { data(k: string): string }) => T): T[] } };
  };
  document: { querySelectorAll(s: string): Iterable<{ dataset: Record<string, string> }> };
}

const pageView = (page: Page): Promise<PageView> =>
  page.evaluate(() => {
    const w = globalThis as unknown as Browserish;
    const d = w.nsmDashboard!;
    return {
      updates: d.updates,
      nodes: d.cy.nodes('.component').map((n) => n.id()),
      hops: d.cy.edges('.hop').map((e) => ({ conn: e.data('conn'), source: e.data('source'), target: e.data('target') })),
      rows: [...w.document.querySelectorAll('tr.conn')].map((tr) => ({ id: tr.dataset.connId!, state: tr.dataset.state! })),
      events: d.events.map((e) => ({ id: e.id, state: e.state })),
    };
  });

test('dashboard in headless Chromium: graph matches nsm status, a heal shows live', { skip: (uid !== 0 && 'needs root') || (!existsSync(CHROMIUM) && `no ${CHROMIUM} (apt-get install chromium)`), timeout: 240_000 }, async (t) => {
  ensureBuilt();
  mkdirSync(ARTIFACTS, { recursive: true });
  const name = `dsh${process.pid % 10000}`;
  const port = await freePort();
  const kids: { browser?: Browser; standalone?: ChildProcessWithoutNullStreams } = {};
  t.after(async () => {
    await kids.browser?.close();
    kids.standalone?.kill('SIGTERM');
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  const up = nsm('up', 'examples/demo.yaml', '--detach', '--name', name, '--dashboard', String(port));
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const url = `http://127.0.0.1:${port}/`;
  assert.ok(up.stdout.includes(`dashboard:   ${url}`), up.stdout);
  const st = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  assert.equal(st.connections.length, 2);

  const browser = (kids.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] }));
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForFunction((n) => (globalThis as unknown as Browserish).nsmDashboard?.view?.connections.filter((c) => c.state === 'UP').length === n, st.connections.length, { timeout: 20_000 });

  // Every component is a node of the graph, every connection a table row and one edge per hop of its path.
  let v = await pageView(page);
  assert.deepEqual([...v.nodes].sort(), st.components.map((c) => `c:${c.name}`).sort());
  assert.deepEqual(v.rows.map((r) => r.id).sort(), st.connections.map((c) => c.id).sort());
  for (const c of st.connections) {
    const hops = v.hops.filter((h) => h.conn === c.id);
    assert.deepEqual(hops.map((h) => [h.source, h.target]), c.path.slice(1).map((b, i) => [`c:${c.path[i]}`, `c:${b}`]), `hops of ${c.client}`);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-up.png') });

  // Search by service leaves only the matching connection's row.
  await page.fill('#search', 'remote');
  assert.deepEqual(await page.$$eval('tr.conn:not(.hidden)', (trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset.service)), ['remote-ping']);
  await page.fill('#search', '');

  // `nsm dashboard NAME --port 0` serves the same view.
  const standalone = (kids.standalone = spawn(process.execPath, ['bin/nsm.js', 'dashboard', name, '--port', '0'], { cwd: ROOT, env: { ...process.env, NSM_LOG_LEVEL: 'warn' } }));
  standalone.stderr.resume();
  const line = await new Promise<string>((resolve) => createInterface({ input: standalone.stdout }).once('line', resolve));
  const standaloneUrl = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
  assert.ok(standaloneUrl, line);
  await waitFor('the standalone dashboard view', async () => ((await (await fetch(`${standaloneUrl}api/view`)).json()) as { connections?: unknown[] } | null)?.connections?.length === st.connections.length, 20_000);

  // Kill the forwarder of node-1 (on both connections' paths): the page shows HEALING, then UP again, without a reload.
  const fwd = st.components.find((c) => c.name === 'forwarder-node-1')!;
  const updatesBefore = v.updates;
  const navigations: string[] = [];
  page.on('framenavigated', (f) => navigations.push(f.url()));
  process.kill(fwd.pid, 'SIGKILL');
  const hasState = (ev: PageView['events'], state: string) => ev.some((e) => e.state === state);
  const healingAfter = await waitFor('HEALING on the page', async () => hasState((await pageView(page)).events, 'HEALING'), 30_000, 100);
  t.diagnostic(`HEALING on the page ${healingAfter} ms after the kill`);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-healing.png') });
  await waitFor('every connection UP again on the page', async () => {
    v = await pageView(page);
    const healedAt = v.events.findIndex((e) => e.state === 'HEALING');
    return v.rows.every((r) => r.state === 'UP') && v.events.slice(healedAt).some((e) => e.state === 'UP');
  }, 60_000, 200);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-healed.png') });
  assert.ok(v.updates > updatesBefore);
  assert.deepEqual(navigations, [], 'the page was not reloaded');
  assert.deepEqual(pageErrors, []);
  // The supervisor restarted the forwarder; the graph shows it running again.
  const after = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  assert.ok(after.components.find((c) => c.name === 'forwarder-node-1')!.pid !== fwd.pid);
});
