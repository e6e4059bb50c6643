import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobSpec, runJob } from './runner.ts';

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
  it('masks a secret that straddles a 64 KiB write or is split between stdout and stderr', async () => {
    const secret = 'tok-9f8e7d6c5b4a';
    // printf writes the first 65,530 bytes and the secret's start in one write, the rest after.
    const s = spec(
      [
        {
          run: `head -c 65530 /dev/zero | tr '\\0' x; printf 'tok-9f8'; sleep 0.2; printf 'e7d6c5b4a\\n'`,
        },
        { run: `printf 'tok-9f8e' ; sleep 0.2; printf '7d6c5b4a\\n' >&2` },
        { run: `printf 'p%%40ss-w' >&2 ; sleep 0.2; printf 'ord!\\n'` },
      ],
      { secrets: [secret, 'p@ss-word!'] },
    );
    expect((await runJob(s, new AbortController().signal)).passed).toBe(true);
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).not.toContain('tok-9f8e7d6c5b4a');
    expect(log).not.toContain('p%40ss-word');
    expect(log.match(/\*{8}/g)).toHaveLength(3);
  });

  it('keeps the order of stdout and stderr, so a secret split between them without a pause is masked', async () => {
    const secret = 'tok-9f8e7d6c5b4a';
    const s = spec(
      [
        {
          run: `for i in $(seq 40); do printf 'A:tok-9f8'; printf 'e7d6c5b4a:B\\n' >&2; done; echo one; echo two >&2; echo three`,
        },
      ],
      { secrets: [secret] },
    );
    expect((await runJob(s, new AbortController().signal)).passed).toBe(true);
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).not.toContain(secret);
    expect(log.match(/A:\*{8}:B\n/g)).toHaveLength(40);
    expect(log).toContain('one\ntwo\nthree\n');
  });

  it('reports a command that is not in PATH', async () => {
    const s = spec([{ exec: ['no-such-command-anywhere', 'x'] }]);
    const outcome = await runJob(s, new AbortController().signal);
    expect(outcome.error).toBe('cannot start no-such-command-anywhere: not found in PATH');
  });

  it('writes the log and work folder for the owner only', async () => {
    const s = spec([{ run: 'echo hi' }]);
    await runJob(s, new AbortController().signal);
    expect(statSync(s.logFile).mode & 0o777).toBe(0o600);
    expect(statSync(s.cwd).mode & 0o777).toBe(0o700);
  });

  it('fails the job with a clear reason when its log cannot be written', async () => {
    // /dev/full answers every write with ENOSPC, as a full disk does.
    const s = spec([{ run: 'yes full | head -c 10000000; sleep 30' }], { logFile: '/dev/full' });
    const started = Date.now();
    const outcome = await runJob(s, new AbortController().signal);
    expect(outcome).toEqual({
      passed: false,
      exitCode: null,
      error: "cannot write the job's log: no space left on device (/dev/full)",
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    writeFileSync(join(s.cwd, 'not-a-folder'), '');
    const refused = await runJob(
      spec([{ run: 'echo hi' }], { cwd: join(s.cwd, 'not-a-folder', 'x') }),
      new AbortController().signal,
    );
    expect(refused.error).toMatch(/^cannot create the job's work folder: /);
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
