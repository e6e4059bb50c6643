import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobSpec, runJob, STOPPING } from './runner.ts';

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
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).not.toMatch(/^never$/m);
    expect(log).toContain('hoist: skipped (runIf: passed; an earlier task failed): echo never\n');
  });

  it('runs runIf: failed tasks only after a failure, any always, and still fails the job', async () => {
    const tasks: JobSpec['tasks'] = [
      { run: 'echo first' },
      { run: 'echo on-failure-1', runIf: 'failed' },
      { run: 'exit 3' },
      { run: 'echo skipped-pass' },
      { run: 'echo on-failure-2; exit 0', runIf: 'failed' },
      { exec: ['sh', '-c', 'echo always'], runIf: 'any' },
    ];
    const s = spec(tasks);
    expect(await runJob(s, new AbortController().signal)).toEqual({
      passed: false,
      exitCode: 3,
      error: 'exited with code 3',
    });
    const log = readFileSync(s.logFile, 'utf8');
    expect(log.match(/^(first|on-failure-\d|skipped-pass|always)$/gm)).toEqual([
      'first',
      'on-failure-2',
      'always',
    ]);
    expect(log).toContain('hoist: skipped (runIf: failed; no task failed): echo on-failure-1\n');
    expect(log).toContain('hoist: runs (runIf: failed; an earlier task failed)\n');
    const passing = spec([{ run: 'echo ok' }, { run: 'echo cleanup', runIf: 'failed' }]);
    expect((await runJob(passing, new AbortController().signal)).passed).toBe(true);
    expect(readFileSync(passing.logFile, 'utf8')).not.toMatch(/^cleanup$/m);
  });

  it('on a cancel kills the running task, runs its onCancel with the same environment and folder, and nothing after', async () => {
    const controller = new AbortController();
    const s = spec(
      [
        {
          run: 'echo started > started; sleep 30',
          onCancel: { run: 'echo "undo $TOKEN in $(basename "$PWD")"; echo undone > undone' },
        },
        { run: 'echo later', runIf: 'any' },
      ],
      { env: { PATH: process.env.PATH ?? '', TOKEN: 'tok-abcdef' }, secrets: ['tok-abcdef'] },
    );
    const waitFor = async (file: string) => {
      while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
    };
    const started = Date.now();
    const outcome = runJob(s, controller.signal);
    await waitFor(join(s.cwd, 'started'));
    controller.abort();
    expect(await outcome).toEqual({ passed: false, exitCode: null, error: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(5000);
    // The onCancel has ended before the job's outcome is answered.
    expect(readFileSync(join(s.cwd, 'undone'), 'utf8')).toBe('undone\n');
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).toContain('hoist: the task was cancelled; running its onCancel task\n');
    expect(log).toContain('undo ******** in work\n');
    expect(log).toContain('hoist: skipped (the job was cancelled): echo later\n');
    expect(log).not.toMatch(/^later$/m);
  });

  it('bounds an onCancel by the clean-up limit', async () => {
    const controller = new AbortController();
    const s = spec([{ run: 'sleep 30', onCancel: { run: 'sleep 30' } }], {
      cleanupTimeoutMs: 300,
    });
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await runJob(s, controller.signal);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readFileSync(s.logFile, 'utf8')).toContain(
      'hoist: onCancel task failed: timed out after 0 s (the clean-up limit)',
    );
  });

  it('on a timeout runs the killed task onCancel, then the failed and any tasks within the clean-up limit', async () => {
    const s = spec(
      [
        { run: 'sleep 30', onCancel: { run: 'echo undo' } },
        { run: 'echo next' },
        { run: 'echo rollback', runIf: 'failed' },
        { run: 'sleep 30', runIf: 'any' },
        { run: 'echo last', runIf: 'any' },
      ],
      { timeoutMs: 300, cleanupTimeoutMs: 400 },
    );
    const outcome = await runJob(s, new AbortController().signal);
    expect(outcome).toEqual({ passed: false, exitCode: null, error: 'timed out after 0 s' });
    const log = readFileSync(s.logFile, 'utf8');
    expect(log.match(/^(undo|next|rollback|last)$/gm)).toEqual(['undo', 'rollback', 'last']);
    expect(log).toContain(
      'hoist: the task was killed at the time limit; running its onCancel task',
    );
    expect(log).toContain('hoist: skipped (runIf: passed; the job timed out): echo next');
    expect(log).toContain('hoist: task failed: timed out after 0 s (the clean-up limit)');
  });

  it('runs nothing more when the server stops', async () => {
    const controller = new AbortController();
    const s = spec([
      { run: 'echo go > go; sleep 30', onCancel: { run: 'echo undo' } },
      { run: 'echo after', runIf: 'any' },
    ]);
    const outcome = runJob(s, controller.signal);
    while (!existsSync(join(s.cwd, 'go'))) await new Promise((r) => setTimeout(r, 20));
    controller.abort(STOPPING);
    expect((await outcome).passed).toBe(false);
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).not.toMatch(/^(undo|after)$/m);
    expect(log).toContain('hoist: skipped (the server is stopping): echo after');
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
