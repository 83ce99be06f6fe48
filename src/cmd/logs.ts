// `nsm logs NAME [COMPONENT] [-f]`: a mesh's component logs as readable lines (time, level,
// component, connection id, message), all components merged by time unless one is named.
import { open, readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { NSM_CMD, readState } from '../cluster/index.js';
import { readableLine } from '../observability/log-lines.js';
import { usageError } from './cli-error.js';
import { pickMesh } from './status.js';

const say = (l: string) => process.stdout.write(`${l}\n`);

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("a mesh's component logs, readable: time, level, component, connection id, message")
    .argument('[name]', 'mesh name (optional when one mesh is up)')
    .argument('[component]', 'one component (default: all, merged by time)')
    .option('-f, --follow', 'keep printing new lines')
    .action(async (nameArg: string | undefined, component: string | undefined, flags: { follow?: boolean }) => {
      const name = await pickMesh('logs', nameArg);
      const state = name ? await readState(name) : undefined;
      if (!state) usageError(`logs: ${name ? `mesh "${name}" is not up` : `no mesh is up (start one: ${NSM_CMD} up examples/demo.yaml)`}`);
      const names = state.plan.components.map((c) => c.name);
      if (component && !names.includes(component)) usageError(`logs: mesh ${state.plan.name} has no component "${component}" (it has: ${names.join(', ')})`);
      const files = (component ? [component] : names).map((c) => ({ c, file: `${state.plan.logDir}/${c}.log`, offset: 0 }));
      const lines: { time: number; text: string }[] = [];
      for (const f of files) {
        const text = await readFile(f.file, 'utf8').catch(() => '');
        f.offset = Buffer.byteLength(text);
        for (const l of text.split('\n')) if (l.trim()) lines.push(readableLine(l, f.c));
      }
      // A stable sort keeps each file's own order for lines without a time.
      lines.sort((a, b) => (a.time && b.time ? a.time - b.time : 0)).forEach((l) => say(l.text));
      if (!flags.follow) return;
      const partial = new Map<string, string>();
      const keepAlive = setInterval(() => {}, 1 << 30);
      const poll = async () => {
        for (const f of files) {
          const size = (await stat(f.file).catch(() => undefined))?.size ?? 0;
          if (size < f.offset) f.offset = 0; // the file was replaced
          if (size === f.offset) continue;
          const fh = await open(f.file, 'r');
          try {
            const buf = Buffer.alloc(size - f.offset);
            await fh.read(buf, 0, buf.length, f.offset);
            f.offset = size;
            const text = (partial.get(f.c) ?? '') + buf.toString('utf8');
            const parts = text.split('\n');
            partial.set(f.c, parts.pop() ?? '');
            for (const l of parts) if (l.trim()) say(readableLine(l, f.c).text);
          } finally {
            await fh.close();
          }
        }
      };
      const timer = setInterval(() => void poll(), 250);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(timer);
      clearInterval(keepAlive);
    });
}
