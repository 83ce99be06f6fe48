// The dashboard feed and server with a fake loader: static files (cytoscape from node_modules), the
// current view as JSON, and a change pushed over the event stream without a new request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DashboardFeed, startDashboardServer, type DashboardView } from '../../../src/observability/dashboard/index.js';
import { demoInput } from './dashboard-fixture.js';

test('dashboard server: page, script, cytoscape, view JSON, and changes as server-sent events', async (t) => {
  let nsc2State = 'UP';
  let loads = 0;
  const feed = new DashboardFeed({ load: async () => (loads++, demoInput({ nsc2State })), intervalMs: 20 });
  feed.start();
  const server = await startDashboardServer(feed, '127.0.0.1', 0);
  t.after(async () => (feed.stop(), await server.stop()));
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script src="\/vendor\/cytoscape.min.js">/);
  const lib = await fetch(new URL('vendor/cytoscape.min.js', server.url));
  assert.equal(lib.status, 200);
  assert.ok((await lib.text()).length > 100_000);
  assert.equal((await fetch(new URL('app.js', server.url))).status, 200);
  assert.equal((await fetch(new URL('nope', server.url))).status, 404);

  await feed.ready();
  const view = (await (await fetch(new URL('api/view', server.url))).json()) as DashboardView;
  assert.equal(view.name, 'demo');
  assert.equal(view.connections.length, 3);

  // The event stream: the current view at once, then a change (and no repeat while nothing changes).
  const ac = new AbortController();
  const res = await fetch(new URL('events', server.url), { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  const seen: string[] = [];
  let buf = '';
  const nextView = async (): Promise<DashboardView> => {
    for (;;) {
      const i = buf.indexOf('\n\n');
      if (i >= 0) {
        const msg = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(msg)?.[1];
        if (data) return JSON.parse(data) as DashboardView;
        continue;
      }
      const { value, done } = await reader.read();
      assert.ok(!done, 'stream ended');
      buf += Buffer.from(value).toString();
    }
  };
  seen.push((await nextView()).connections[1]!.state);
  const before = loads;
  nsc2State = 'HEALING';
  seen.push((await nextView()).connections[1]!.state);
  nsc2State = 'UP';
  seen.push((await nextView()).connections[1]!.state);
  assert.deepEqual(seen, ['UP', 'HEALING', 'UP']);
  assert.ok(loads > before);
  ac.abort();
});

test('dashboard feed: a failed refresh keeps the last view and names the error', async (t) => {
  let fail = false;
  const feed = new DashboardFeed({ load: async () => { if (fail) throw new Error('boom'); return demoInput(); }, intervalMs: 10 });
  t.after(() => feed.stop());
  const views: DashboardView[] = [];
  feed.subscribe((v) => views.push(v));
  feed.start();
  await feed.ready();
  fail = true;
  while (views.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(views[1]!.errors, ['cannot refresh: boom']);
  assert.equal(views[1]!.connections.length, 3);
});
