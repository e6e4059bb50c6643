import { describe, expect, it } from 'vitest';
import { afterTask, decideTask, type JobProgress, runsOnCancel } from './task-rules.ts';

const fresh: JobProgress = { failed: false, interruption: null };
const failing: JobProgress = { failed: true, interruption: null };
const runs = (runIf: Parameters<typeof decideTask>[0], p: JobProgress) => decideTask(runIf, p).run;

describe('server/pipelines/task-rules', () => {
  it('runs passed tasks (the default) while nothing failed, failed ones only after a failure, any always', () => {
    expect([undefined, 'passed', 'failed', 'any'].map((r) => runs(r as never, fresh))).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect([undefined, 'passed', 'failed', 'any'].map((r) => runs(r as never, failing))).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it('says why a task is skipped or runs out of the ordinary, and nothing for a plain run', () => {
    expect(decideTask(undefined, fresh).note).toBeNull();
    expect(decideTask('passed', failing).note).toBe(
      'skipped (runIf: passed; an earlier task failed)',
    );
    expect(decideTask('failed', fresh).note).toBe('skipped (runIf: failed; no task failed)');
    expect(decideTask('failed', failing).note).toBe('runs (runIf: failed; an earlier task failed)');
  });

  it('runs nothing more after a cancel, a stop or a log failure, whatever the runIf', () => {
    for (const interruption of ['cancel', 'stop', 'log'] as const) {
      const p = { failed: true, interruption };
      expect(['passed', 'failed', 'any'].map((r) => runs(r as never, p))).toEqual([
        false,
        false,
        false,
      ]);
    }
    expect(decideTask('any', { failed: true, interruption: 'cancel' }).note).toBe(
      'skipped (the job was cancelled)',
    );
  });

  it('after a timeout runs the failed and any tasks only', () => {
    const p = { failed: true, interruption: 'timeout' as const };
    expect(['passed', 'failed', 'any'].map((r) => runs(r as never, p))).toEqual([
      false,
      true,
      true,
    ]);
    expect(decideTask('any', p).note).toBe('runs (runIf: any; the job timed out)');
  });

  it('runs a killed task onCancel after a cancel or a timeout only', () => {
    expect([null, 'cancel', 'timeout', 'stop', 'log'].map((i) => runsOnCancel(i as never))).toEqual(
      [false, true, true, false, false],
    );
  });

  it('keeps the job failing, and a cancel during the clean-up after a timeout stops it', () => {
    const p = afterTask(afterTask(fresh, false, null), true, null);
    expect(p).toEqual({ failed: true, interruption: null });
    expect(afterTask({ failed: true, interruption: 'timeout' }, false, null)).toEqual({
      failed: true,
      interruption: 'timeout',
    });
    expect(afterTask({ failed: true, interruption: 'timeout' }, false, 'cancel')).toEqual({
      failed: true,
      interruption: 'cancel',
    });
  });
});
