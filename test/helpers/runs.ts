import { expect } from 'vitest';
/** A run as the API answers it. */
import type { Run } from '../../server/api/schemas/index.ts';
import { eventually, type ServerProcess } from './server-process.ts';

export type { Run };

/** A job task that prints what it received of `internal/app`, one `KEY=value` a line. */
export const PRINT_APP =
  'echo "LABEL=$HOIST_PACKAGE_INTERNAL_APP_LABEL"; echo "LOCATION=$HOIST_PACKAGE_INTERNAL_APP_LOCATION"; echo "CHECKSUM=$HOIST_PACKAGE_INTERNAL_APP_CHECKSUM"';

export function runsOf(server: ServerProcess, pipeline: string): Promise<Run[]> {
  return server.api<Run[]>('GET', `/api/pipelines/${pipeline}/runs?limit=100`).then((r) => r.body);
}

export async function runOf(server: ServerProcess, pipeline: string, counter: number) {
  return (await server.api<Run>('GET', `/api/pipelines/${pipeline}/runs/${counter}`)).body;
}

/** Waits until the run satisfies `check`. */
export function until(
  server: ServerProcess,
  pipeline: string,
  counter: number,
  check: (run: Run) => boolean,
  ms = 20_000,
): Promise<Run> {
  return eventually(async () => {
    const run = await runOf(server, pipeline, counter).catch(() => undefined);
    return run?.stages && check(run) ? run : undefined;
  }, ms);
}

/** What a job printed as `KEY=value` lines. */
export async function jobOutput(
  server: ServerProcess,
  pipeline: string,
  counter: number,
  stage: string,
  job: string,
): Promise<Record<string, string>> {
  const log = await server.api<string>(
    'GET',
    `/api/pipelines/${pipeline}/runs/${counter}/stages/${stage}/jobs/${job}/log`,
  );
  const values: Record<string, string> = {};
  for (const line of String(log.body).split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1] as string] = match[2] as string;
  }
  return values;
}

/**
 * The job received exactly the package the run records, and every description of the cause
 * (the package material's revision, the promotions report) says the same.
 */
export async function expectJobMatchesRecord(
  server: ServerProcess,
  run: Run,
  pipeline: string,
  stage: string,
  job: string,
  label?: string,
): Promise<void> {
  const recorded = run.cause.packages['internal/app'];
  expect(recorded, `${pipeline}/${run.counter} records internal/app`).toBeDefined();
  if (label) expect(recorded?.revision).toBe(label);
  const received = await jobOutput(server, pipeline, run.counter, stage, job);
  expect(received, `${pipeline}/${run.counter} ${stage}/${job}`).toEqual({
    LABEL: recorded?.revision,
    LOCATION: recorded?.data.LOCATION,
    CHECKSUM: recorded?.data.CHECKSUM,
  });
  const own = run.cause.materials.find((m) => m.material === 'internal/app');
  if (own) expect(own.revision).toBe(recorded?.revision);
  const promotions = await server.api<
    { revision: string; runs: { pipeline: string; counter: number }[] }[]
  >('GET', '/api/promotions?material=internal/app');
  const entry = promotions.body.find((p) =>
    p.runs.some((r) => r.pipeline === pipeline && r.counter === run.counter),
  );
  expect(entry?.revision).toBe(recorded?.revision);
}
