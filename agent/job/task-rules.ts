/**
 * Which of a job's tasks run, as GoCD's `run_if` and `on_cancel` decide it. Tasks run in order;
 * the job is failing as soon as one task failed. A `passed` task (the default) runs only while
 * no task has failed, a `failed` one only once one has, an `any` one always. A cancel kills the
 * running task, runs its `onCancel` and nothing after; a timeout kills the running task, runs
 * its `onCancel`, then only the `failed` and `any` tasks after it. A server's stop, and a log that
 * cannot be written, run nothing more. Pure: the runner carries the decisions out.
 */

export type RunIf = 'passed' | 'failed' | 'any';

/** How a task that did not pass ended, when something other than its own exit ended it. */
export type Interruption = 'cancel' | 'timeout' | 'stop' | 'log';

/** Where a job is in its tasks. */
export interface JobProgress {
  /** A task failed (or the job timed out, was cancelled or stopped). */
  failed: boolean;
  /** What interrupted the job, if anything did. */
  interruption: Interruption | null;
}

/** Whether the next task runs, and the log line that says why (null: nothing to say). */
export interface TaskDecision {
  run: boolean;
  note: string | null;
}

const AFTER = {
  cancel: 'the job was cancelled',
  stop: 'the server is stopping',
  log: "the job's log cannot be written",
  timeout: 'the job timed out',
} as const;

/** Whether a task with this `runIf` runs at this point of its job. */
export function decideTask(runIf: RunIf | undefined, progress: JobProgress): TaskDecision {
  const when = runIf ?? 'passed';
  const { interruption } = progress;
  if (interruption && interruption !== 'timeout')
    return { run: false, note: `skipped (${AFTER[interruption]})` };
  if (interruption === 'timeout') {
    return when === 'passed'
      ? { run: false, note: `skipped (runIf: passed; ${AFTER.timeout})` }
      : { run: true, note: `runs (runIf: ${when}; ${AFTER.timeout})` };
  }
  if (progress.failed) {
    return when === 'passed'
      ? { run: false, note: 'skipped (runIf: passed; an earlier task failed)' }
      : { run: true, note: `runs (runIf: ${when}; an earlier task failed)` };
  }
  if (when === 'failed') return { run: false, note: 'skipped (runIf: failed; no task failed)' };
  return { run: true, note: null };
}

/** Whether a task that ended so has its `onCancel` task run: killed by a cancel or a timeout. */
export function runsOnCancel(interruption: Interruption | null): boolean {
  return interruption === 'cancel' || interruption === 'timeout';
}

/**
 * The progress after a task ended: failed unless it passed; an interruption replaces an earlier
 * one (a cancel during the clean-up after a timeout stops the clean-up too).
 */
export function afterTask(
  progress: JobProgress,
  passed: boolean,
  interruption: Interruption | null,
): JobProgress {
  return {
    failed: progress.failed || !passed,
    interruption: interruption ?? progress.interruption,
  };
}
