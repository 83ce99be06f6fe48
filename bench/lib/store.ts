// bench/results.json, the one source of README's Performance table and bench/RESULTS.md: the latest row of
// every figure with the run it came from. `npm run bench -- --write` merges a run's rows into it (a row
// replaces the row of the same name; rows the run did not measure stay, with their own run).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from './harness.js';

export const RESULTS_JSON = join(import.meta.dirname, '..', 'results.json');

export interface RunMeta {
  id: string;
  date: string;
  command: string;
  quick?: boolean;
  seconds?: number;
  machine?: Record<string, unknown>;
  note?: string;
  [k: string]: unknown;
}
export interface StoredRow extends Result {
  run: string;
}
export interface Store {
  runs: Record<string, RunMeta>;
  rows: StoredRow[];
}

export function readStore(path = RESULTS_JSON): Store {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Store;
  } catch {
    return { runs: {}, rows: [] };
  }
}

/** Merges `results` of `run` into the store; keeps the order of known rows, appends new ones; drops unused runs. */
export function mergeRun(store: Store, run: RunMeta, results: Result[]): Store {
  const rows = [...store.rows];
  for (const r of results) {
    if (r.name.endsWith('.*') || r.name.startsWith('baseline.')) continue;
    const row = { ...r, run: run.id };
    const i = rows.findIndex((x) => x.name === r.name);
    // A figure this run could not measure does not replace one measured earlier.
    if (i >= 0 && r.missing && !rows[i]!.missing) continue;
    if (i >= 0) rows[i] = row;
    else rows.push(row);
  }
  const runs: Record<string, RunMeta> = {};
  for (const row of rows) runs[row.run] = row.run === run.id ? run : store.runs[row.run]!;
  return { runs, rows };
}

export function writeStore(store: Store, path = RESULTS_JSON): void {
  writeFileSync(path, `${JSON.stringify(store, null, 2)}\n`);
}
