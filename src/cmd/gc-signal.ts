// Bench diagnostics: when node runs with --expose-gc (only benchmarks start components so), SIGUSR2 runs a
// full garbage collection and reports RSS and heap on stderr, so RSS per connection can be read after a GC.
// Without --expose-gc nothing is installed (SIGUSR2 keeps node's default meaning).
//
// The collections run as tasks of their own (execution 'async'), not inside the signal's JS callback: a
// collection started from JS code ('sync') has to assume the native stack may point into the heap and keeps
// alive what only such pointers could reach; in the nsmgr that kept ~16 MiB (the warm-up's closed connections)
// for an unpredictable while, where a heap snapshot (taken off the JS stack) found it all garbage.

type Gc = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => Promise<void> | undefined;

export function installGcSignal(): void {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (typeof gc !== 'function') return;
  process.on('SIGUSR2', () => {
    void (async () => {
      await gc({ type: 'major', execution: 'async' });
      await gc({ type: 'major', execution: 'async' });
      const m = process.memoryUsage();
      process.stderr.write(`gc: full collection done rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external}\n`);
    })();
  });
}
