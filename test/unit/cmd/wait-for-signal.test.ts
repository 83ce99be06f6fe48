// waitForSignal: a second SIGTERM/SIGINT while a command is already shutting down is logged in one
// line and ignored; the command finishes its close and exits 0 (a real child process gets real signals).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const FIXTURE = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, cond: () => boolean, p: { out: () => string; err: () => string }): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`no ${what}: stdout ${p.out()} stderr ${p.err()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const [first, second] of [['SIGTERM', 'SIGTERM'], ['SIGINT', 'SIGTERM']] as const) {
  test(`a ${second} after ${first}, while closing, does not kill the command: one line, clean exit 0`, { timeout: 60_000 }, async () => {
    const p = start([]);
    try {
      await until('ready line', () => p.out().includes('ready\n'), p);
      p.child.kill(first);
      await until('closing line', () => p.out().includes(`closing after ${first}\n`), p);
      p.child.kill(second);
      await until('"already shutting down" line', () => p.err().includes('already shutting down'), p);
      p.child.stdin!.write('go\n');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.err());
      assert.ok(p.out().endsWith('closed\n'), p.out());
      assert.deepEqual(p.err().trim().split('\n'), [`nsm: ${second}: already shutting down`]);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
}

test('with a logger, each later signal is one structured warning', { timeout: 60_000 }, async () => {
  const p = start(['log']);
  try {
    await until('ready line', () => p.out().includes('ready\n'), p);
    p.child.kill('SIGTERM');
    await until('closing line', () => p.out().includes('closing after SIGTERM\n'), p);
    p.child.kill('SIGTERM');
    await until('first warning', () => p.err().split('\n').filter(Boolean).length === 1, p);
    p.child.kill('SIGINT');
    await until('second warning', () => p.err().split('\n').filter(Boolean).length === 2, p);
    p.child.stdin!.write('go\n');
    assert.deepEqual(await p.exited, { code: 0, signal: null }, p.err());
    const lines = p.err().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { signal: 'SIGTERM', firstSignal: 'SIGTERM', msg: 'already shutting down: signal ignored' },
      { signal: 'SIGINT', firstSignal: 'SIGTERM', msg: 'already shutting down: signal ignored' },
    ]);
  } finally {
    p.child.kill('SIGKILL');
  }
});
