import type { RunRow } from '../store/store.ts';
import { cancelRequested } from './transitions.ts';

/** How often a cancel asked of another instance looks whether the run is cancelled. */
const POLL_MS = 250;

/**
 * The run once the instance advancing it has carried out a cancel asked through this one (it
 * notices on its next heartbeat and runs the jobs' `onCancel` tasks first); the run as it is
 * then if that takes longer than `withinMs`, or if the run ended otherwise.
 */
export async function cancelledElsewhere(
  read: () => Promise<RunRow>,
  withinMs: number,
): Promise<RunRow> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const run = await read();
    if (!cancelRequested(run) || run.status === 'cancelled' || Date.now() > deadline) return run;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
