import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError, type PluginHost } from 'hoist';
import {
  DEFAULT_CLEANUP_TIMEOUT_MS,
  type JobOutcome,
  runJob,
  STOPPING,
} from '../../agent/job/runner.ts';
import { processStart } from '../../agent/process-group.ts';
import type { AgentDispatch, RemoteOutcome } from '../agents/dispatch.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { MAX_DURATION_MS, parseDuration } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { JobRow, RunRow, StageRow, Store } from '../store/store.ts';
import { definitionOf, type StageConfig } from './definition.ts';
import { prepareFetches } from './fetch-tasks.ts';
import { jobEnvironment } from './job-environment.ts';
import { finishJob, jobProcess, startJob } from './transitions.ts';
import { jobVariables, type VariableLevel } from './variables.ts';

/** A job of a stage definition. */
type JobConfig = StageConfig['jobs'][number];

/** What the stage runner needs. */
export interface StageRunnerOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
  dataDir: string;
  /** Jobs running at once; default 4. */
  concurrency?: number;
  /** Default job time limit; default 1 hour. */
  jobTimeoutMs?: number;
  /** Time limit of each clean-up task (`onCancel`, and after a timeout); default 5 minutes. */
  cleanupTimeoutMs?: number;
  /** The instance the jobs run on. */
  owner: () => string;
  /** Where a job's end that cannot be recorded yet (a full disk) is reported. */
  logger?: Logger;
  /** Told of every job's recorded end. */
  metrics?: JobMetrics;
  /** Jobs on agents; without it every job runs here. */
  agents?: AgentDispatch;
}

/** A job's recorded end, as the stage runner reports it. */
export interface FinishedJob {
  pipeline: string;
  outcome: 'passed' | 'failed' | 'cancelled';
  seconds: number;
}

/** What the stage runner reports of jobs. */
export interface JobMetrics {
  jobFinished(job: FinishedJob): void;
}

/** How often, and how many times, the end of a job is tried again when the store refuses it. */
const RECORD_RETRY_MS = 2000;
const RECORD_ATTEMPTS = 300;

/**
 * Runs the jobs of a stage as local processes, at most `concurrency` at once across stages:
 * each in a work folder of its own, with the run's package environment, a time limit and a
 * log with secure values masked. Each job's start and end is one transition.
 */
export class StageRunner {
  private slots: number;
  private readonly waiters: (() => void)[] = [];

  /** The time limit of each clean-up task. */
  readonly cleanupTimeoutMs: number;

  constructor(
    private readonly options: StageRunnerOptions,
    env = process.env,
  ) {
    this.slots = options.concurrency ?? 4;
    this.cleanupTimeoutMs = options.cleanupTimeoutMs ?? cleanupTimeout(env);
  }

  /** Path of a job's log. */
  logPath(pipeline: string, counter: number, stage: string, job: string): string {
    return join(this.options.dataDir, 'logs', pipeline, String(counter), stage, `${job}.log`);
  }

  /**
   * Runs the stage's jobs in parallel; answers whether all passed, or `undefined` when the
   * signal aborted them (a cancel or a stop: the caller settles the stage).
   */
  async run(
    run: RunRow,
    stage: StageRow,
    definition: StageConfig | undefined,
    signal: AbortSignal,
  ): Promise<boolean | undefined> {
    const { env, secrets } = await jobEnvironment(run, stage, this.options);
    const pipeline = await this.pipelineVariables(run.pipeline);
    const results = await Promise.all(
      stage.jobs.map((job) =>
        this.runOne(run, stage, job, definition, { env, secrets, pipeline }, signal),
      ),
    );
    if (signal.aborted) return undefined;
    return results.every(Boolean);
  }

  private async runOne(
    run: RunRow,
    stage: StageRow,
    job: JobRow,
    definition: StageConfig | undefined,
    environment: {
      env: Record<string, string>;
      secrets: string[];
      pipeline?: VariableLevel & { environment?: string };
    },
    signal: AbortSignal,
  ): Promise<boolean> {
    const spec = definition?.jobs.find((j) => j.name === job.name);
    // Secure variables are opened only here, for the job's environment.
    const variables = this.variables([environment.pipeline, definition, spec]);
    const needs = {
      resources: spec?.resources ?? [],
      environment: environment.pipeline?.environment ?? null,
    };
    const { agents } = this.options;
    if (spec && !('error' in variables) && agents && !(await agents.runsLocally(needs))) {
      // Fetch tasks travel resolved (URL, checksum, size, credentials); the agent downloads.
      const prepared = await prepareFetches(
        spec.tasks,
        run.cause.packages,
        this.options.catalog,
        this.timeoutOf(spec),
      );
      await prepared.http?.close();
      // PATH, HOME and LANG are the agent's own (unless the job's variables set them).
      const { PATH: _path, HOME: _home, LANG: _lang, ...base } = environment.env;
      const resolved = {
        tasks: prepared.tasks,
        env: { ...base, ...variables.env, HOIST_JOB_NAME: job.name },
        secrets: [...environment.secrets, ...variables.secrets, ...prepared.secrets],
        timeoutMs: this.timeoutOf(spec),
        cleanupTimeoutMs: this.cleanupTimeoutMs,
      };
      if (signal.aborted) return false;
      const started = performance.now();
      const queued = await agents.run({ run, stage, job, needs }, resolved, signal, () =>
        stopping(signal),
      );
      return this.remoteEnd(run, job, await queued.outcome, signal, started);
    }
    await this.acquire();
    try {
      if (signal.aborted) return false;
      return await this.runHere(run, stage, job, spec, environment, variables, signal);
    } finally {
      this.release();
    }
  }

  /** A job's end on an agent recorded (none while stopping: the next start waits for it again). */
  private async remoteEnd(
    run: RunRow,
    job: JobRow,
    outcome: RemoteOutcome | undefined,
    signal: AbortSignal,
    started: number,
  ): Promise<boolean> {
    if (!outcome || stopping(signal)) return false;
    const cancelled = signal.aborted || outcome.cancelled;
    await this.recordEnd(run, job, finishJob(job, outcome, cancelled, now()), signal);
    this.options.metrics?.jobFinished({
      pipeline: run.pipeline,
      outcome: cancelled ? 'cancelled' : outcome.passed ? 'passed' : 'failed',
      seconds: (performance.now() - started) / 1000,
    });
    return outcome.passed && !cancelled;
  }

  /**
   * A taken-over stage whose jobs agents hold: waits for their ends (jobs no agent holds failed
   * with the take-over); answers whether all passed, or undefined when the signal aborted them.
   */
  async resume(run: RunRow, stage: StageRow, signal: AbortSignal): Promise<boolean | undefined> {
    const { agents } = this.options;
    const held = agents ? await agents.held(run) : new Map();
    const results = await Promise.all(
      stage.jobs.map(async (job) => {
        if (job.status === 'passed') return true;
        const attempt = held.get(job.id);
        if (!agents || !attempt) return false;
        const outcome = await agents.wait(attempt.id, signal, () => stopping(signal));
        return this.remoteEnd(run, job, outcome, signal, performance.now());
      }),
    );
    if (signal.aborted) return undefined;
    return results.every(Boolean);
  }

  /** A job's time limit: its own, or the default. */
  private timeoutOf(spec: { timeout?: string }): number {
    return spec.timeout && spec.timeout !== 'never'
      ? parseDuration(spec.timeout)
      : (this.options.jobTimeoutMs ?? 3_600_000);
  }

  /** Runs a job here, as a child process of the server. */
  private async runHere(
    run: RunRow,
    stage: StageRow,
    job: JobRow,
    spec: StageConfig['jobs'][number] | undefined,
    environment: { env: Record<string, string>; secrets: string[] },
    variables: ReturnType<StageRunner['variables']>,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { store } = this.options;
    await store.changeRun(run.id, startJob(job, this.options.owner(), now()));
    const started = performance.now();
    // Each task's process group is recorded as it starts (in order, before the job's end), so
    // that after a crash it can be found and stopped before the job is reported failed.
    let recorded: Promise<unknown> = Promise.resolve();
    const onSpawn = (pid: number) => {
      const start = processStart(pid);
      if (start === undefined) return;
      const change = jobProcess(job, { pgid: pid, start, host: hostname() });
      recorded = recorded.then(() => store.changeRun(run.id, change)).catch(() => {});
    };
    const outcome =
      spec && !('error' in variables)
        ? await this.runTasks(run, stage, job, spec, environment, variables, onSpawn, signal)
        : {
            passed: false,
            exitCode: null,
            error:
              'error' in variables
                ? variables.error
                : 'the job is no longer in the pipeline definition',
          };
    await recorded;
    // Stopping: the job is left building; the next start takes the run over and fails it.
    if (stopping(signal)) return false;
    await this.recordEnd(run, job, finishJob(job, outcome, signal.aborted, now()), signal);
    this.options.metrics?.jobFinished({
      pipeline: run.pipeline,
      outcome: signal.aborted ? 'cancelled' : outcome.passed ? 'passed' : 'failed',
      seconds: (performance.now() - started) / 1000,
    });
    return outcome.passed;
  }

  /**
   * Runs a job's tasks: its `fetch:` tasks resolved from the run's record first (with an HTTP
   * client of the job's own, its transfers bounded by the job's time limit), then the runner.
   */
  private async runTasks(
    run: RunRow,
    stage: StageRow,
    job: JobRow,
    spec: JobConfig,
    environment: { env: Record<string, string>; secrets: string[] },
    variables: { env: Record<string, string>; secrets: string[] },
    onSpawn: (pid: number) => void,
    signal: AbortSignal,
  ): Promise<JobOutcome> {
    const timeoutMs = this.timeoutOf(spec);
    const prepared = await prepareFetches(
      spec.tasks,
      run.cause.packages,
      this.options.catalog,
      timeoutMs,
    );
    try {
      return await runJob(
        {
          tasks: prepared.tasks,
          cwd: join(
            this.options.dataDir,
            'work',
            run.pipeline,
            String(run.counter),
            stage.name,
            job.name,
          ),
          env: { ...environment.env, ...variables.env, HOIST_JOB_NAME: job.name },
          secrets: [...environment.secrets, ...variables.secrets, ...prepared.secrets],
          logFile: this.logPath(run.pipeline, run.counter, stage.name, job.name),
          timeoutMs,
          cleanupTimeoutMs: this.cleanupTimeoutMs,
          onSpawn,
          ...(prepared.http ? { http: prepared.http } : {}),
        },
        signal,
      );
    } finally {
      await prepared.http?.close();
    }
  }

  /**
   * Records a job's end; while the store cannot write (a full disk), tries again every 2 s for
   * up to 10 minutes, so that the job is failed with its reason once space returns.
   */
  private async recordEnd(
    run: RunRow,
    job: JobRow,
    change: Parameters<Store['changeRun']>[1],
    signal: AbortSignal,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.store.changeRun(run.id, change);
        return;
      } catch (error) {
        if (attempt >= RECORD_ATTEMPTS || signal.reason === STOPPING) throw error;
        this.options.logger?.warn(
          { err: error, pipeline: run.pipeline, counter: run.counter, job: job.name },
          `cannot record the end of job ${job.name}; trying again in ${RECORD_RETRY_MS / 1000} s`,
        );
        await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS));
      }
    }
  }

  /** The pipeline's own variables (its stages' and jobs' come with the stage definition). */
  private async pipelineVariables(
    name: string,
  ): Promise<(VariableLevel & { environment?: string }) | undefined> {
    const row = await this.options.store.getPipeline(name);
    return row ? definitionOf(row) : undefined;
  }

  /** A job's variables, inner levels winning, secure ones opened; or why they cannot be. */
  private variables(levels: (VariableLevel | undefined)[]) {
    try {
      return jobVariables(levels, (sealed) => this.options.catalog.openSecret(sealed));
    } catch (error) {
      return {
        error: `cannot open the job's secure variables (${(error as Error).message}): was the secret key changed?`,
      };
    }
  }

  private acquire(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.slots++;
  }
}

/** The abort reason of a server stop (as opposed to a cancel). */
export { STOPPING } from '../../agent/job/runner.ts';

/** `HOIST_CLEANUP_TIMEOUT` (seconds, up to 7 days) in milliseconds; default 5 minutes. */
export function cleanupTimeout(env: NodeJS.ProcessEnv): number {
  const text = env.HOIST_CLEANUP_TIMEOUT;
  if (text === undefined || text === '') return DEFAULT_CLEANUP_TIMEOUT_MS;
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= MAX_DURATION_MS / 1000))
    throw new ConfigInvalidError([
      {
        key: 'HOIST_CLEANUP_TIMEOUT',
        message: `must be a number of seconds from more than 0 to ${MAX_DURATION_MS / 1000}, got '${text}'`,
      },
    ]);
  return Math.round(seconds * 1000);
}

/** Whether the signal aborted because the server stops (not a cancel). */
function stopping(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason === STOPPING;
}

function now(): string {
  return new Date().toISOString();
}
