import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobSpec, masker, runJob } from './runner.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function spec(tasks: JobSpec['tasks'], extra: Partial<JobSpec> = {}): JobSpec {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-job-'));
  dirs.push(dir);
  return {
    tasks,
    cwd: join(dir, 'work'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    secrets: [],
    logFile: join(dir, 'job.log'),
    timeoutMs: 10_000,
    ...extra,
  };
}

describe('server/pipelines/runner', () => {
  it('masks secrets in raw and URL-encoded form', () => {
    const mask = masker(['p@ss:w/rd', 'ab']);
    expect(mask('x p@ss:w/rd y p%40ss%3Aw%2Frd z ab')).toBe('x ******** y ******** z ab');
  });

  it('runs tasks in order in the job folder, logging their output masked', async () => {
    const s = spec(
      [{ run: 'echo "in $(basename "$PWD") with $TOKEN"' }, { exec: ['sh', '-c', 'echo second'] }],
      {
        env: { PATH: process.env.PATH ?? '', TOKEN: 'tok-123456' },
        secrets: ['tok-123456'],
      },
    );
    expect(await runJob(s, new AbortController().signal)).toEqual({
      passed: true,
      exitCode: 0,
      error: null,
    });
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).toContain('in work with ********');
    expect(log).toContain('second');
    expect(log).not.toContain('tok-123456');
  });

  it('stops at the first failing task with its exit code', async () => {
    const s = spec([{ run: 'exit 4' }, { run: 'echo never' }]);
    expect(await runJob(s, new AbortController().signal)).toEqual({
      passed: false,
      exitCode: 4,
      error: 'exited with code 4',
    });
    expect(readFileSync(s.logFile, 'utf8')).not.toContain('never\n');
  });

  it('kills the whole process group on timeout and on cancel', async () => {
    const started = Date.now();
    const timedOut = await runJob(
      spec([{ run: 'sleep 30 & sleep 30; wait' }], { timeoutMs: 300 }),
      new AbortController().signal,
    );
    expect(timedOut.passed).toBe(false);
    expect(timedOut.error).toMatch(/^timed out after/);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await runJob(spec([{ run: 'sleep 30' }]), controller.signal);
    expect(cancelled.error).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a command that cannot start', async () => {
    const outcome = await runJob(
      spec([{ exec: ['/no/such/command'] }]),
      new AbortController().signal,
    );
    expect(outcome.passed).toBe(false);
    expect(outcome.error).toMatch(/cannot start \/no\/such\/command/);
  });
});
