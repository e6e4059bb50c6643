import { hostname } from 'node:os';
import { join } from 'node:path';
import { materialEnvironment, type PluginHost } from 'hoist';
import type { Catalog } from '../catalog/catalog.ts';
import { parseDuration } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { processStart } from '../process-group.ts';
import type { JobRow, RunRow, StageRow, Store } from '../store/store.ts';
import type { StageConfig } from './definition.ts';
import { runJob } from './runner.ts';
import { finishJob, jobProcess, startJob } from './transitions.ts';

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
  /** The instance the jobs run on. */
  owner: () => string;
  /** Where a job's end that cannot be recorded yet (a full disk) is reported. */
  logger?: Logger;
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

  constructor(private readonly options: StageRunnerOptions) {
    this.slots = options.concurrency ?? 4;
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
    const { env, secrets } = await this.environment(run, stage);
    const results = await Promise.all(
      stage.jobs.map((job) => this.runOne(run, stage, job, definition, { env, secrets }, signal)),
    );
    if (signal.aborted) return undefined;
    return results.every(Boolean);
  }

  private async runOne(
    run: RunRow,
    stage: StageRow,
    job: JobRow,
    definition: StageConfig | undefined,
    environment: { env: Record<string, string>; secrets: string[] },
    signal: AbortSignal,
  ): Promise<boolean> {
    const { store } = this.options;
    const spec = definition?.jobs.find((j) => j.name === job.name);
    await this.acquire();
    try {
      if (signal.aborted) return false;
      await store.changeRun(run.id, startJob(job, this.options.owner(), now()));
      // Each task's process group is recorded as it starts (in order, before the job's end), so
      // that after a crash it can be found and stopped before the job is reported failed.
      let recorded: Promise<unknown> = Promise.resolve();
      const onSpawn = (pid: number) => {
        const start = processStart(pid);
        if (start === undefined) return;
        const change = jobProcess(job, { pgid: pid, start, host: hostname() });
        recorded = recorded.then(() => store.changeRun(run.id, change)).catch(() => {});
      };
      const outcome = spec
        ? await runJob(
            {
              tasks: spec.tasks,
              cwd: join(
                this.options.dataDir,
                'work',
                run.pipeline,
                String(run.counter),
                stage.name,
                job.name,
              ),
              env: { ...environment.env, HOIST_JOB_NAME: job.name },
              secrets: environment.secrets,
              logFile: this.logPath(run.pipeline, run.counter, stage.name, job.name),
              timeoutMs:
                spec.timeout && spec.timeout !== 'never'
                  ? parseDuration(spec.timeout)
                  : (this.options.jobTimeoutMs ?? 3_600_000),
              onSpawn,
            },
            signal,
          )
        : {
            passed: false,
            exitCode: null,
            error: 'the job is no longer in the pipeline definition',
          };
      await recorded;
      // Stopping: the job is left building; the next start takes the run over and fails it.
      if (signal.aborted && signal.reason === STOPPING) return false;
      await this.recordEnd(run, job, finishJob(job, outcome, signal.aborted, now()), signal);
      return outcome.passed;
    } finally {
      this.release();
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

  /** The job environment of a run's stage (from the run's one package record), and its secrets. */
  private async environment(run: RunRow, stage: StageRow) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOIST_PIPELINE_NAME: run.pipeline,
      HOIST_PIPELINE_COUNTER: String(run.counter),
      HOIST_STAGE_NAME: stage.name,
    };
    const secrets: string[] = [];
    const polled = new Map(
      (await this.options.catalog.polledPackages()).map((p) => [`${p.repository}/${p.name}`, p]),
    );
    for (const [material, revision] of Object.entries(run.cause.packages)) {
      const pkg = polled.get(material);
      const [repository, name] = material.split('/') as [string, string];
      const registry = this.options.host.registry;
      const plugin = pkg && registry.has(pkg.plugin) ? registry.get(pkg.plugin) : undefined;
      for (const entry of materialEnvironment({
        repository,
        package: name,
        repositoryProperties: plugin?.repositoryProperties ?? [],
        packageProperties: plugin?.packageProperties ?? [],
        repositoryConfig: pkg?.repositoryConfig ?? {},
        packageConfig: pkg?.packageConfig ?? {},
        revision,
      })) {
        env[entry.name] = entry.value;
        if (entry.secure) secrets.push(entry.value);
      }
    }
    return { env, secrets };
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
export const STOPPING = Symbol('the server is stopping');

function now(): string {
  return new Date().toISOString();
}
