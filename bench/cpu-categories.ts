// Diagnostic: sums the self time of a V8 --cpu-prof profile by category (package, node internal module, our source
// folder, GC, idle) so the big costs stand out of a flat profile. Native frames (builtins, no URL) count for the
// nearest caller that has one. Run: node --import tsx bench/cpu-categories.ts FILE.cpuprofile [--window T0-T1] [--per N]
// (--window: monotonic microseconds as bench/request-cpu.ts prints them; --per N: also ms per operation).
import { readFileSync } from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const file = args.find((a) => a.endsWith('.cpuprofile'));
if (!file) {
  console.error('usage: cpu-categories.ts FILE.cpuprofile [--window T0-T1] [--per N] [--top N]');
  process.exit(2);
}
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const [w0, w1] = (opt('--window') ?? '0-Infinity').split('-').map(Number) as [number, number];
const per = Number(opt('--per') ?? 0);
const top = Number(opt('--top') ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, Node>();
const parent = new Map<number, number>();
for (const n of prof.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

/** The category of a URL (package, node module, our folder), or undefined for a native frame. */
function category(url: string): string | undefined {
  if (!url) return undefined;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) {
    const m = url.slice(5).replace(/^internal\//, '');
    const parts = m.split('/');
    return `node:${parts.length > 1 ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  const src = /\/(?:dist|src)\/(.*)$/.exec(url);
  if (src) {
    const parts = src[1]!.split('/');
    if (parts[0] === 'api' && parts[1] === 'generated') return 'ours:api/generated (protobuf)';
    return `ours:${parts.length > 2 ? parts.slice(0, 2).join('/') : parts.length > 1 ? parts[0] : parts[0]}`;
  }
  if (/\/bench\/|\/test\//.test(url)) return 'bench/test';
  return url;
}

function categoryOf(id: number): string {
  const f = byId.get(id)!.callFrame;
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(program)') return 'program (native, unattributed)';
  if (f.functionName === '(root)') return 'root';
  let c = category(f.url);
  if (c) return c;
  for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
    c = category(byId.get(p)!.callFrame.url);
    if (c) return c;
  }
  return `native: ${f.functionName}`;
}

const callersRe = opt('--callers') ? new RegExp(opt('--callers')!) : undefined;
const depth = Number(opt('--depth') ?? 6);
const frameName = (id: number) => {
  const f = byId.get(id)!.callFrame;
  return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`;
};
/** For --callers: the stack (up to `depth` frames) above a sample whose own frame or category matches. */
const stacks = new Map<string, number>();
/** --incl NAME=REGEX (repeatable): inclusive time of the samples with any frame matching REGEX. */
const incl = args.flatMap((a, i) => (a === '--incl' ? [args[i + 1]!] : [])).map((x) => [x.slice(0, x.indexOf('=')), new RegExp(x.slice(x.indexOf('=') + 1))] as const);
const inclTime = new Map<string, number>();
const stackText = new Map<number, string>();
const fullStack = (id: number) => {
  let t = stackText.get(id);
  if (t === undefined) {
    const st: string[] = [];
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) st.push(`${frameName(p)} ${byId.get(p)!.callFrame.url}`);
    stackText.set(id, (t = st.join('\n')));
  }
  return t;
};
const cat = new Map<string, number>();
const files = new Map<string, number>();
const funcs = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
let t = prof.startTime;
let total = 0;
let busy = 0;
for (let i = 0; i < prof.samples.length; i++) {
  t += prof.timeDeltas[i]!;
  const next = i + 1 < prof.samples.length ? prof.timeDeltas[i + 1]! : 0;
  if (t < w0 || t > w1) continue;
  const id = prof.samples[i]!;
  const c = categoryOf(id);
  const f = byId.get(id)!.callFrame;
  add(cat, c, next);
  for (const [name, re] of incl) if (c !== 'idle' && re.test(fullStack(id))) add(inclTime, name, next);
  if (callersRe && (callersRe.test(frameName(id)) || callersRe.test(c))) {
    const st: string[] = [];
    let p: number | undefined = id;
    // --entry: skip the matching frames (and natives) to show where the code enters the category
    if (args.includes('--entry')) while (p !== undefined && (callersRe.test(frameName(p)) || callersRe.test(category(byId.get(p)!.callFrame.url) ?? '') || !byId.get(p)!.callFrame.url)) p = parent.get(p);
    for (; p !== undefined && st.length < depth; p = parent.get(p)) st.push(frameName(p));
    add(stacks, st.join(' < '), next);
  }
  total += next;
  if (c !== 'idle') busy += next;
  if (c !== 'idle' && c !== 'GC' && c !== 'root') {
    add(files, f.url ? f.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/') : `(native via ${c})`, next);
    add(funcs, `${f.functionName || '(anon)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}`, next);
  }
}
const fmt = (us: number) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %${per ? ` ${(us / 1000 / per).toFixed(3).padStart(7)} ms/op` : ''}`;
const show = (title: string, m: Map<string, number>, n: number) => {
  console.log(`-- ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${fmt(v)}  ${k}`);
};
console.log(`${file}: window ${(total / 1000).toFixed(0)} ms, busy (not idle) ${(busy / 1000).toFixed(0)} ms${per ? `, ${(busy / 1000 / per).toFixed(2)} ms/op over ${per} ops` : ''}`);
show('categories (self time; % of busy)', cat, 40);
if (incl.length > 0) show('inclusive', inclTime, 100);
if (callersRe) show(`stacks of ${callersRe.source}`, stacks, top);
else if (!args.includes('--brief')) {
  show('files', files, top);
  show('functions', funcs, top);
}
