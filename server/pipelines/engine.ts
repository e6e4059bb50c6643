import { join } from 'node:path';
import {
  ConflictError,
  materialEnvironment,
  NotFoundError,
  type PluginHost,
  type Revision,
} from 'hoist';
import type { Catalog, PolledPackage } from '../catalog.ts';
import type { LeaseHolder } from '../cluster/instance.ts';
import { parseDuration } from '../config/schema.ts';
import type { PollerLogger } from '../poller/poller.ts';
import type { CheckRow, RunRow, StageRow, Store } from '../store/store.ts';
import { type Actor, requireApprover } from './approvals.ts';
import { definitionOf } from './definition.ts';
import { runJob } from './runner.ts';
import { type PinChoices, type ScheduleRequest, Scheduler } from './scheduler.ts';

export type { Actor } from './approvals.ts';

/** Options of the engine. */
export interface EngineOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
  logger: PollerLogger;
  dataDir: string;
  /** Jobs running at once; default 4. */
  concurrency?: number;
  /** Default job time limit; default 1 hour. */
  jobTimeoutMs?: number;
  /** The instance's leases: a run is advanced by the instance that holds its lease. */
  instance?: LeaseHolder;
}

/**
 * Pipelines: schedules runs when materials change or upstream stages pass, runs stages in
 * order (jobs in parallel on the local runner), stops at manual gates until approved, and
 * carries the same package revisions downstream.
 */
export class PipelineEngine {
  private readonly running = new Map<
    number,
    { controller: AbortController; pipeline: string; counter: number }
  >();
  private readonly advancing = new Map<number, Promise<void>>();
  private slots: number;
  private readonly waiters: (() => void)[] = [];
  private stopped = false;
  private readonly scheduler: Scheduler;

  constructor(private readonly options: EngineOptions) {
    this.slots = options.concurrency ?? 4;
    this.scheduler = new Scheduler({
      store: options.store,
      catalog: options.catalog,
      host: options.host,
      logger: options.logger,
      lease: () => ({ owner: this.owner, until: this.leaseUntil() }),
      start: (run) => this.kick(run.id, run.pipeline, run.counter),
    });
  }

  private get owner(): string {
    return this.options.instance?.id ?? 'local';
  }

  private leaseUntil(): number {
    return this.options.instance?.leaseUntil() ?? Date.now() + 30_000;
  }

  /**
   * Takes over building runs whose instance stopped (after a restart, this instance's own):
   * jobs that were running failed with it, and the run goes on from there. Called at start and
   * on every heartbeat, after renewing the leases of the runs this instance advances.
   */
  async resume(): Promise<void> {
    const { store, logger } = this.options;
    if (this.stopped) return;
    // Renew the leases of the runs this instance advances; any other lease of its own ends.
    await store.renewRunLeases(this.owner, [...this.advancing.keys()], this.leaseUntil());
    const orphans = await store.claimOrphanRuns(this.owner, Date.now(), this.leaseUntil(), 100);
    for (const { id, pipeline, counter } of orphans) {
      if (this.advancing.has(id)) continue;
      const run = await store.getRun(pipeline, counter);
      if (!run) continue;
      for (const stage of run.stages) {
        if (stage.status !== 'building') continue;
        for (const job of stage.jobs) {
          if (job.status === 'building' || job.status === 'scheduled') {
            await store.updateJob(job.id, {
              status: 'failed',
              finishedAt: new Date().toISOString(),
              error: 'the server stopped while this job was running; re-run the stage',
            });
          }
        }
        await store.updateStage(stage.id, {
          status: 'failed',
          finishedAt: new Date().toISOString(),
        });
      }
      logger.info({ pipeline, counter, instance: this.owner }, 'run taken over');
      this.kick(id, pipeline, counter);
    }
  }

  /** Runs cancelled through another instance stop here too (checked on every heartbeat). */
  async watchCancellations(): Promise<void> {
    for (const { controller, pipeline, counter } of this.running.values()) {
      const run = await this.options.store.getRun(pipeline, counter);
      if (run?.status === 'cancelled') controller.abort();
    }
  }

  /** New revisions of a material (found by a check): schedule the pipelines that use it. */
  onRevisions(
    pkg: PolledPackage,
    inserted: Revision[],
    trigger: CheckRow['trigger'] = 'schedule',
  ): Promise<void> {
    return this.scheduler.onRevisions(pkg, inserted, trigger);
  }

  /** A person's run, optionally pinned to package revisions or upstream runs. */
  schedule(name: string, request: ScheduleRequest, actor: Actor): Promise<RunRow> {
    return this.scheduler.schedule(name, request, actor);
  }

  /** What a pipeline's runs may be pinned to. */
  choices(name: string): Promise<PinChoices> {
    return this.scheduler.choices(name);
  }

  /**
   * Approves a manual stage: one awaiting approval, or (unless the stage sets
   * `allowOnlyOnSuccess`) one whose previous stage failed, to promote anyway. Only the stage's
   * approvers (token names or groups) and admins may, when it names approvers.
   */
  async approve(
    name: string,
    counter: number,
    stageName: string,
    actor: Actor,
    comment?: string,
  ): Promise<RunRow> {
    const { store } = this.options;
    const run = await this.requireRun(name, counter);
    const stage = run.stages.find((s) => s.name === stageName);
    if (!stage) throw new NotFoundError(`run ${name}/${counter} has no stage '${stageName}'`);
    const pipeline = await store.getPipeline(name);
    const definition = pipeline
      ? definitionOf(pipeline).stages.find((s) => s.name === stageName)
      : undefined;
    requireApprover(definition, actor, name, 'approve');
    const previous = run.stages.find((s) => s.position === stage.position - 1);
    const afterFailure =
      stage.approval === 'manual' &&
      stage.status === 'scheduled' &&
      run.status === 'failed' &&
      previous?.status === 'failed' &&
      run.stages.every(
        (s) => s.position >= stage.position || s.status === 'passed' || s === previous,
      );
    if (afterFailure && definition?.allowOnlyOnSuccess) {
      throw new ConflictError(
        `stage '${stageName}' may be approved only when '${previous?.name}' passed; it failed`,
      );
    }
    if (stage.status !== 'awaiting_approval' && !afterFailure) {
      throw new ConflictError(
        `stage '${stageName}' of ${name}/${counter} is ${stage.status}, not awaiting approval`,
      );
    }
    if (afterFailure && previous) {
      // Promoting past a failed stage: record it as such, and go on from the approved stage.
      await store.updateStage(previous.id, { status: 'passed' });
    }
    await store.updateStage(stage.id, {
      status: 'scheduled',
      approvedBy: actor.name,
      approvedAt: new Date().toISOString(),
      approvalComment: comment ?? null,
    });
    await store.updateRun(run.id, { status: 'building', finishedAt: null });
    this.kick(run.id, name, counter);
    return this.requireRun(name, counter);
  }

  /** Which stages each revision of a package reached, in which runs, approved by whom. */
  async promotions(material: string) {
    const { store } = this.options;
    const byRevision = new Map<string, { revision: string; runs: unknown[] }>();
    for (const pipeline of await store.listPipelines()) {
      for (const run of await store.listRuns(pipeline.name, 1000)) {
        const revision = run.cause.packages[material];
        if (!revision) continue;
        const entry = byRevision.get(revision.revision) ?? {
          revision: revision.revision,
          runs: [],
        };
        entry.runs.push({
          pipeline: run.pipeline,
          counter: run.counter,
          status: run.status,
          trigger: run.trigger,
          triggeredBy: run.triggeredBy,
          createdAt: run.createdAt,
          stages: run.stages.map((s) => ({
            name: s.name,
            status: s.status,
            approvedBy: s.approvedBy,
            approvedAt: s.approvedAt,
            comment: s.approvalComment,
            finishedAt: s.finishedAt,
          })),
        });
        byRevision.set(revision.revision, entry);
      }
    }
    return [...byRevision.values()];
  }

  /**
   * Runs a failed or cancelled stage again (and then the stages after it), with the run's
   * same revisions.
   */
  async rerunStage(
    name: string,
    counter: number,
    stageName: string,
    actor: Actor,
  ): Promise<RunRow> {
    const { store } = this.options;
    const run = await this.requireRun(name, counter);
    const stage = run.stages.find((s) => s.name === stageName);
    if (!stage) throw new NotFoundError(`run ${name}/${counter} has no stage '${stageName}'`);
    if (stage.status !== 'failed' && stage.status !== 'cancelled') {
      throw new ConflictError(
        `stage '${stageName}' of ${name}/${counter} is ${stage.status}; only a failed or cancelled stage can run again`,
      );
    }
    if (run.stages.some((s) => s.position < stage.position && s.status !== 'passed')) {
      throw new ConflictError(`an earlier stage of ${name}/${counter} has not passed`);
    }
    const pipeline = await store.getPipeline(name);
    requireApprover(
      pipeline && definitionOf(pipeline).stages.find((s) => s.name === stageName),
      actor,
      name,
      're-run',
    );
    for (const later of run.stages.filter((s) => s.position >= stage.position)) {
      for (const job of later.jobs) {
        await store.updateJob(job.id, {
          status: 'scheduled',
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          error: null,
        });
      }
      // Later manual stages ask for approval again when their turn comes.
      await store.updateStage(later.id, { status: 'scheduled', startedAt: null, finishedAt: null });
    }
    await store.updateStage(stage.id, {
      approvedBy: actor.name,
      approvedAt: new Date().toISOString(),
    });
    await store.updateRun(run.id, { status: 'building', finishedAt: null });
    this.kick(run.id, name, counter);
    return this.requireRun(name, counter);
  }

  /** Cancels a run: running jobs are killed, pending stages cancelled. */
  async cancel(name: string, counter: number): Promise<RunRow> {
    const { store } = this.options;
    const run = await this.requireRun(name, counter);
    if (run.status !== 'building' && run.status !== 'waiting') {
      throw new ConflictError(`run ${name}/${counter} is ${run.status}`);
    }
    this.running.get(run.id)?.controller.abort();
    await this.advancing.get(run.id);
    const fresh = await this.requireRun(name, counter);
    const now = new Date().toISOString();
    for (const stage of fresh.stages) {
      if (stage.status === 'passed' || stage.status === 'failed') continue;
      for (const job of stage.jobs) {
        if (job.status === 'scheduled' || job.status === 'building')
          await store.updateJob(job.id, { status: 'cancelled', finishedAt: now });
      }
      await store.updateStage(stage.id, { status: 'cancelled', finishedAt: now });
    }
    await store.updateRun(run.id, { status: 'cancelled', finishedAt: now });
    return this.requireRun(name, counter);
  }

  async requireRun(name: string, counter: number): Promise<RunRow> {
    const run = await this.options.store.getRun(name, counter);
    if (!run) throw new NotFoundError(`no run ${name}/${counter}`);
    return run;
  }

  /** Path of a job's log. */
  logPath(name: string, counter: number, stage: string, job: string): string {
    return join(this.options.dataDir, 'logs', name, String(counter), stage, `${job}.log`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.allSettled([...this.advancing.values()]);
  }

  // --- running ----------------------------------------------------------------------------

  /**
   * Advances a run, one advance at a time per run, while holding its lease: a run leased by
   * another live instance is left to it.
   */
  private kick(runId: number, name: string, counter: number): void {
    if (this.stopped) return;
    const { store, logger } = this.options;
    const previous = this.advancing.get(runId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (!(await store.claimRun(runId, this.owner, Date.now(), this.leaseUntil()))) {
          logger.debug({ pipeline: name, counter }, 'another instance advances this run');
          return;
        }
        try {
          await this.advance(name, counter);
        } finally {
          if (!this.stopped) await store.releaseRun(runId, this.owner);
        }
      })
      .catch((error) =>
        this.options.logger.error(
          { err: error, pipeline: name, counter },
          'run failed unexpectedly',
        ),
      )
      .finally(() => {
        if (this.advancing.get(runId) === next) this.advancing.delete(runId);
      });
    this.advancing.set(runId, next);
  }

  private async advance(name: string, counter: number): Promise<void> {
    const { store } = this.options;
    for (;;) {
      const run = await this.requireRun(name, counter);
      if (run.status === 'cancelled' || run.status === 'passed' || run.status === 'failed') return;
      const stage = run.stages.find((s) => s.status !== 'passed');
      const now = new Date().toISOString();
      if (!stage) {
        await store.updateRun(run.id, { status: 'passed', finishedAt: now });
        return;
      }
      if (stage.status === 'awaiting_approval') {
        await store.updateRun(run.id, { status: 'waiting' });
        return;
      }
      if (stage.status === 'failed' || stage.status === 'cancelled') {
        await store.updateRun(run.id, { status: stage.status, finishedAt: now });
        return;
      }
      if (stage.status === 'scheduled') {
        const passed = await this.runStage(run, stage);
        if (this.stopped) return;
        const after = await this.requireRun(name, counter);
        if (after.status === 'cancelled') return;
        if (!passed) continue;
        await this.scheduler.onStagePassed(after, stage.name);
        const next = after.stages.find((s) => s.position === stage.position + 1);
        if (next?.approval === 'manual')
          await store.updateStage(next.id, { status: 'awaiting_approval' });
        continue;
      }
      return;
    }
  }

  private async runStage(run: RunRow, stage: StageRow): Promise<boolean> {
    const { store } = this.options;
    const pipeline = await store.getPipeline(run.pipeline);
    const stageDefinition = pipeline
      ? definitionOf(pipeline).stages.find((s) => s.name === stage.name)
      : undefined;
    await store.updateStage(stage.id, { status: 'building', startedAt: new Date().toISOString() });
    const controller = new AbortController();
    this.running.set(run.id, { controller, pipeline: run.pipeline, counter: run.counter });
    try {
      const { env, secrets } = await this.environment(run, stage);
      const results = await Promise.all(
        stage.jobs.map(async (job) => {
          const spec = stageDefinition?.jobs.find((j) => j.name === job.name);
          await this.acquire();
          try {
            if (controller.signal.aborted) return false;
            await store.updateJob(job.id, {
              status: 'building',
              startedAt: new Date().toISOString(),
            });
            await store.setJobInstance(job.id, this.owner);
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
                    env: { ...env, HOIST_JOB_NAME: job.name },
                    secrets,
                    logFile: this.logPath(run.pipeline, run.counter, stage.name, job.name),
                    timeoutMs:
                      spec.timeout && spec.timeout !== 'never'
                        ? parseDuration(spec.timeout)
                        : (this.options.jobTimeoutMs ?? 3_600_000),
                  },
                  controller.signal,
                )
              : {
                  passed: false,
                  exitCode: null,
                  error: 'the job is no longer in the pipeline definition',
                };
            if (this.stopped) return false;
            await store.updateJob(job.id, {
              status: controller.signal.aborted
                ? 'cancelled'
                : outcome.passed
                  ? 'passed'
                  : 'failed',
              finishedAt: new Date().toISOString(),
              exitCode: outcome.exitCode,
              error: outcome.error,
            });
            return outcome.passed;
          } finally {
            this.release();
          }
        }),
      );
      if (this.stopped) return false;
      const passed = results.every(Boolean) && !controller.signal.aborted;
      if (!controller.signal.aborted) {
        await store.updateStage(stage.id, {
          status: passed ? 'passed' : 'failed',
          finishedAt: new Date().toISOString(),
        });
      }
      return passed;
    } finally {
      this.running.delete(run.id);
    }
  }

  /** The job environment of a run's stage, and the values to mask. */
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
      const plugin =
        pkg && this.options.host.registry.has(pkg.plugin)
          ? this.options.host.registry.get(pkg.plugin)
          : undefined;
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
