// Bench diagnostics: when node runs with --expose-gc (only benchmarks start components so), SIGUSR2 runs a
// full garbage collection and reports RSS and heap on stderr, so RSS per connection can be read after a GC.
// Without --expose-gc nothing is installed (SIGUSR2 keeps node's default meaning).

type Gc = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export function installGcSignal(): void {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (typeof gc !== 'function') return;
  process.on('SIGUSR2', () => {
    gc({ type: 'major', execution: 'sync' });
    gc({ type: 'major', execution: 'sync' });
    const m = process.memoryUsage();
    process.stderr.write(`gc: full collection done rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external}\n`);
  });
}
