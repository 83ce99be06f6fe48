// ScenarioError: every problem found in a scenario file, one `FILE:LINE: field: message` line each.
export interface ScenarioProblem {
  line: number;
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ScenarioProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ScenarioError';
  }

  /** One line per problem. */
  lines(): string[] {
    return this.problems.map((p) => formatProblem(this.file, p));
  }
}

function formatProblem(file: string, p: ScenarioProblem): string {
  return `${file}:${p.line}: ${p.field}: ${p.message}`;
}
