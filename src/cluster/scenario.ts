// Reads a scenario file (README: Scenario files): YAML with line info, the zod schema, then the cross-field
// checks; any problem throws a ScenarioError naming the line and field of each one.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { checkScenario } from './scenario-checks.js';
import { ScenarioError, formatProblem, type ScenarioProblem } from './scenario-error.js';
import { scenarioSchema, type Scenario } from './scenario-schema.js';
import { scenarioWarnings } from './scenario-warnings.js';
import { formatPath, lineOf } from './yaml-lines.js';

export type { Scenario, ScenarioClient, ScenarioEndpoint } from './scenario-schema.js';
export { ScenarioError } from './scenario-error.js';

/** A valid scenario and its warnings (`FILE:LINE: field: message` lines: likely mistakes that do not stop it). */
export interface CheckedScenario {
  scenario: Scenario;
  warnings: string[];
}

/** Parses and validates scenario text; `file` only labels the errors. */
export function parseScenario(text: string, file = 'scenario.yaml'): Scenario {
  return checkScenarioText(text, file).scenario;
}

/** Parses and validates scenario text, and lists its warnings. */
export function checkScenarioText(text: string, file = 'scenario.yaml'): CheckedScenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => ({ line: lc.linePos(e.pos[0]).line, field: 'yaml', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') })),
    );
  }
  const parsed = scenarioSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ScenarioError(file, parsed.error.issues.map((i) => problemOf(i, doc, lc)));
  }
  const problems = checkScenario(parsed.data).map((p) => ({ line: lineOf(doc, lc, p.path), field: formatPath(p.path), message: p.message }));
  if (problems.length > 0) throw new ScenarioError(file, problems);
  const warnings = scenarioWarnings(parsed.data).map((p) => formatProblem(file, { line: lineOf(doc, lc, p.path), field: formatPath(p.path), message: p.message }));
  return { scenario: parsed.data, warnings };
}

/** Reads and validates a scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  return (await readScenario(file)).scenario;
}

/** Reads and validates a scenario file, and lists its warnings. */
export async function readScenario(file: string): Promise<CheckedScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(file, [{ line: 0, field: 'file', message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err) }]);
  }
  return checkScenarioText(text, file);
}

function problemOf(issue: z.core.$ZodIssue, doc: Parameters<typeof lineOf>[0], lc: LineCounter): ScenarioProblem {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const full = [...path, key];
    return { line: lineOf(doc, lc, full), field: formatPath(full), message: `unknown key${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ` "${key}"`}` };
  }
  return { line: lineOf(doc, lc, path), field: formatPath(path), message: messageOf(issue) };
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) return `missing (want ${issue.expected})`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  return issue.message;
}
