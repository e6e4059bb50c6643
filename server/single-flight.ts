/** A task that runs once at a time: calls made while it runs share that run. */
export interface SingleFlight {
  /** Runs the task, or joins the run in progress. */
  (): Promise<void>;
  /** The run in progress, if any (to wait for it when stopping). */
  readonly current: Promise<void> | undefined;
}

/**
 * Wraps `task` so that overlapping calls (a timer tick and an explicit call, say) share one
 * run instead of queueing a second behind it.
 */
export function singleFlight(task: () => Promise<void>): SingleFlight {
  let current: Promise<void> | undefined;
  const run = () => {
    // `.finally` runs after the assignment, even when the task finishes without awaiting.
    current ??= task().finally(() => {
      current = undefined;
    });
    return current;
  };
  Object.defineProperty(run, 'current', { get: () => current });
  return run as SingleFlight;
}
