// A closed reader (e.g. `nsm status | head -1`) makes writes to stdout/stderr fail with EPIPE; the
// command goes on quietly (a mesh being built still finishes or tears down) instead of dying with a stack trace.
export function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}
