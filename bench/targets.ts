/** One target of the speed issue beside what this run measured. */
export interface Target {
  name: string;
  goal: string;
  figure: string;
  /** undefined: not measured in this run (its section was left out or could not run). */
  met: boolean | undefined;
}

/** The targets of a run, printed together at its end. */
export class Targets {
  private readonly list: Target[] = [];

  add(name: string, goal: string, figure: string, met: boolean | undefined): void {
    this.list.push({ name, goal, figure, met });
  }

  /** The table, one row per target: met, not met, or not measured. */
  lines(): string[] {
    if (this.list.length === 0) return [];
    const verdict = (m: boolean | undefined) =>
      m === undefined ? 'not measured' : m ? '**met**' : 'not met';
    return [
      '| target | goal | this run | verdict |',
      '|---|---|---|---|',
      ...this.list.map((t) => `| ${t.name} | ${t.goal} | ${t.figure} | ${verdict(t.met)} |`),
    ];
  }
}

/** Median of the `modules N ms` figure that HOIST_STARTUP_TIMING=1 prints on stderr. */
export function modulesMs(stderrs: readonly string[]): number | undefined {
  const values = stderrs
    .map((text) => /hoist: startup: node [\d.]+ ms, modules ([\d.]+) ms/.exec(text)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (values.length === 0) return undefined;
  const mid = values.length >> 1;
  return values.length % 2
    ? (values[mid] as number)
    : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}
