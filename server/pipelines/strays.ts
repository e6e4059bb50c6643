import { hostname } from 'node:os';
import { stopProcessGroup } from '../../agent/process-group.ts';
import type { Logger } from '../logger.ts';
import type { JobRow, RunRow, Store } from '../store/store.ts';
import { processCleared, type StrayOutcome } from './transitions.ts';

/**
 * Jobs whose processes outlived the server that ran them (it was killed): found again by the
 * process group, start time and host recorded when each task started, and stopped (SIGTERM,
 * then SIGKILL) before anything reports the job failed or runs it again.
 */

/** Stops what is left of one job's processes on this host; `elsewhere` when on another host. */
async function stopJob(job: JobRow, logger: Logger): Promise<StrayOutcome | undefined> {
  const recorded = job.process;
  if (!recorded) return undefined;
  if (recorded.host !== hostname()) return 'elsewhere';
  try {
    const outcome = await stopProcessGroup(recorded);
    if (outcome === 'stopped')
      logger.warn({ job: job.id, pgid: recorded.pgid }, 'stopped the processes of a stopped job');
    return outcome;
  } catch (error) {
    logger.error({ err: error, job: job.id, pgid: recorded.pgid }, 'cannot stop a stray job');
    return 'elsewhere';
  }
}

/**
 * A run taken over: the processes of its building jobs that still run on this host are stopped
 * and waited for. Answers, by job id, what became of them.
 */
export async function stopStrays(run: RunRow, logger: Logger): Promise<Map<number, StrayOutcome>> {
  const outcomes = new Map<number, StrayOutcome>();
  const building = run.stages
    .filter((s) => s.status === 'building')
    .flatMap((s) => s.jobs.filter((j) => j.status === 'building'));
  await Promise.all(
    building.map(async (job) => {
      const outcome = await stopJob(job, logger);
      if (outcome) outcomes.set(job.id, outcome);
    }),
  );
  return outcomes;
}

/** Jobs of this host that another instance took over while their processes may have run on. */
export async function sweepStrays(store: Store, logger: Logger): Promise<void> {
  for (const stray of await store.strayJobs(hostname())) {
    try {
      await stopProcessGroup(stray.process);
      await store.changeRun(stray.runId, processCleared(stray.id));
    } catch (error) {
      logger.error({ err: error, job: stray.id }, 'cannot stop a stray job');
    }
  }
}

/**
 * Before a stage runs again: stops what still runs here of its jobs (and of the stages after
 * it), and answers why it must not run yet when some may still run on another host.
 */
export async function overlapping(
  run: RunRow,
  stageName: string,
  logger: Logger,
): Promise<string | undefined> {
  const from = run.stages.find((s) => s.name === stageName)?.position ?? 0;
  for (const stage of run.stages.filter((s) => s.position >= from)) {
    for (const job of stage.jobs) {
      if ((await stopJob(job, logger)) !== 'elsewhere' || !job.process) continue;
      return `job '${job.name}' of ${run.pipeline}/${run.counter} stage '${stage.name}' may still run on host ${job.process.host} (process group ${job.process.pgid}); a server started on that host stops it: re-run the stage after that`;
    }
  }
  return undefined;
}
