import { ConflictError, NotFoundError, type PluginHost, type Revision } from 'hoist';
import type { AgentDispatch } from '../agents/dispatch.ts';
import type { Catalog, PolledPackage } from '../catalog/catalog.ts';
import type { LeaseHolder } from '../cluster/lease-holder.ts';
import type { Logger } from '../logger.ts';
import type { CheckRow, RunChange, RunRow, Store } from '../store/store.ts';
import { type Actor, requireApprover } from './approvals.ts';
import { cancelledElsewhere } from './cancel-elsewhere.ts';
import { definitionOf } from './definition.ts';
import { LockKeeper } from './lock-keeper.ts';
import { waitingFor } from './locking.ts';
import { PendingScheduling } from './pending.ts';
import { promotions } from './promotions.ts';
import {
  type PinChoices,
  type ScheduleRequest,
  Scheduler,
  type TimerOutcome,
} from './scheduler.ts';
import { type JobMetrics, STOPPING, StageRunner } from './stage-runner.ts';
import { overlapping, stopStrays, sweepStrays } from './strays.ts';
import * as transitions from './transitions.ts';

export type { Actor } from './approvals.ts';

/** Options of the engine. */
export interface EngineOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
  logger: Logger;
  dataDir: string;
  /** Jobs running at once; default 4. */
  concurrency?: number;
  /** Default job time limit; default 1 hour. */
  jobTimeoutMs?: number;
  /** The instance's leases: a run is advanced by the instance that holds its lease. */
  leases: LeaseHolder;
  /** Told of every job's end. */
  metrics?: JobMetrics;
  /** Jobs on agents. */
  agents?: AgentDispatch;
}

/**
 * Pipelines: the scheduler decides what runs with which packages; the engine advances each run
 * through its stages (one transition at a time, each one store transaction, under the run's
 * lease), stops at manual gates until approved, and carries out operator commands.
 */
export class PipelineEngine {
  private readonly running = new Map<
    number,
    { controller: AbortController; pipeline: string; counter: number }
  >();
  private readonly advancing = new Map<number, Promise<void>>();
  private stopped = false;
  private readonly scheduler: Scheduler;
  private readonly stages: StageRunner;
  private readonly pending: PendingScheduling;
  private readonly locks: LockKeeper;

  constructor(private readonly options: EngineOptions) {
    const { leases } = options;
    this.scheduler = new Scheduler({
      store: options.store,
      catalog: options.catalog,
      host: options.host,
      logger: options.logger,
      lease: () => ({ owner: leases.id, until: leases.leaseUntil() }),
      start: (run) => this.kick(run.id, run.pipeline, run.counter),
    });
    this.pending = new PendingScheduling(options, this.scheduler);
    this.locks = new LockKeeper({
      store: options.store,
      logger: options.logger,
      // An advance of the same run still under way goes first: this one follows it.
      kick: (id, pipeline, counter) => this.kick(id, pipeline, counter),
    });
    this.stages = new StageRunner({
      store: options.store,
      catalog: options.catalog,
      host: options.host,
      dataDir: options.dataDir,
      concurrency: options.concurrency,
      jobTimeoutMs: options.jobTimeoutMs,
      owner: () => leases.id,
      logger: options.logger,
      metrics: options.metrics,
      agents: options.agents,
    });
  }

  /**
   * Takes over building runs whose instance stopped (after a restart, this instance's own):
   * jobs that were running failed with it (what still ran of them on this host is stopped
   * first), and the run goes on from there; completes scheduling their instance owed; stops
   * what still runs here of jobs taken over elsewhere. Called at start and on every heartbeat,
   * after renewing the leases of the runs this instance advances.
   */
  async resume(): Promise<void> {
    const { store, logger, leases } = this.options;
    if (this.stopped) return;
    // Renew the leases of the runs this instance advances; any other lease of its own ends.
    await store.renewRunLeases(leases.id, [...this.advancing.keys()], leases.leaseUntil());
    const orphans = await store.claimOrphanRuns(leases.id, Date.now(), leases.leaseUntil(), 100);
    for (const { id, pipeline, counter } of orphans) {
      if (this.advancing.has(id)) continue;
      const run = await store.getRun(pipeline, counter);
      if (!run) continue;
      const strays = await stopStrays(run, logger);
      // Jobs that agents hold go on there: the run waits for their ends instead of failing them.
      const held = new Set((await this.options.agents?.held(run))?.keys() ?? []);
      await store.changeRun(run.id, transitions.takeOver(run, now(), strays, held));
      logger.info({ pipeline, counter, instance: leases.id }, 'run taken over');
      this.kick(id, pipeline, counter);
    }
    await this.pending.resume();
    await sweepStrays(store, logger);
    await this.locks.sweep();
  }

  /**
   * Runs cancelled through another instance stop here too (checked on every heartbeat): their
   * jobs are killed, their `onCancel` tasks run, then the run is marked cancelled here.
   */
  async watchCancellations(): Promise<void> {
    for (const { controller, pipeline, counter } of this.running.values()) {
      const run = await this.options.store.getRun(pipeline, counter);
      if (run && transitions.cancelRequested(run)) controller.abort();
    }
  }

  /** New revisions of a material (found by a check): schedule the pipelines that use it. */
  onRevisions(
    pkg: PolledPackage,
    inserted: Revision[],
    trigger: CheckRow['trigger'] = 'schedule',
  ): Promise<boolean> {
    return this.scheduler.onRevisions(pkg, inserted, trigger);
  }

  /** A pipeline's timer fired at `at` (ISO): schedule it as its timer says. */
  onTimer(name: string, at: string): Promise<TimerOutcome> {
    return this.scheduler.onTimer(name, at);
  }

  /** A person's run, optionally pinned to package revisions or upstream runs. */
  schedule(name: string, request: ScheduleRequest, actor: Actor): Promise<RunRow> {
    return this.scheduler.schedule(name, request, actor);
  }

  /** What a pipeline's runs may be pinned to. */
  choices(name: string): Promise<PinChoices> {
    return this.scheduler.choices(name);
  }

  /** Which stages each revision of a package reached, in which runs, approved by whom. */
  promotions(material: string) {
    return promotions(this.options.store, material);
  }

  /** Approves a manual stage (only its approvers may); the run goes on from it. */
  async approve(
    name: string,
    counter: number,
    stageName: string,
    actor: Actor,
    comment?: string,
  ): Promise<RunRow> {
    const run = await this.requireRun(name, counter);
    const stage = transitions.stageOf(run, stageName);
    const definition = await this.stageDefinition(name, stage.name);
    requireApprover(definition, actor, name, 'approve');
    return this.apply(run, transitions.approve(run, stageName, definition, actor, comment, now()));
  }

  /** Runs a failed or cancelled stage again, and the stages after it, with the same packages. */
  async rerunStage(name: string, counter: number, stageName: string, actor: Actor) {
    const run = await this.requireRun(name, counter);
    const change = transitions.rerun(run, stageName, actor, now());
    requireApprover(await this.stageDefinition(name, stageName), actor, name, 're-run');
    // A copy of a job that may still run (on a host whose server stopped) must end first.
    const still = await overlapping(run, stageName, this.options.logger);
    if (still) throw new ConflictError(still);
    return this.apply(run, change);
  }

  /**
   * Cancels a run: running jobs are killed and their `onCancel` tasks run, then the run and its
   * pending stages are cancelled. A run another instance advances is asked to cancel there, and
   * answered once it is (see `requestCancel`).
   */
  async cancel(name: string, counter: number): Promise<RunRow> {
    const { store, leases } = this.options;
    const run = await this.requireRun(name, counter);
    transitions.cancel(run, now());
    const here = this.advancing.has(run.id);
    if (!here && !(await store.claimRun(run.id, leases.id, Date.now(), leases.leaseUntil()))) {
      await store.changeRun(run.id, transitions.requestCancel(run, now()));
      const within = this.stages.cleanupTimeoutMs + 3 * leases.leaseMs;
      return cancelledElsewhere(() => this.requireRun(name, counter), within);
    }
    try {
      this.running.get(run.id)?.controller.abort();
      await this.advancing.get(run.id);
      await this.settleCancel(name, counter);
    } finally {
      if (!here) await store.releaseRun(run.id, leases.id);
    }
    return this.requireRun(name, counter);
  }

  /** Marks a run cancelled unless it ended meanwhile (its jobs have recorded their ends). */
  private async settleCancel(name: string, counter: number): Promise<void> {
    const fresh = await this.requireRun(name, counter);
    if (fresh.status === 'building' || fresh.status === 'waiting')
      await this.locks.write(fresh, transitions.cancel(fresh, now()));
  }

  /** Unlocks a pipeline that a failed run keeps locked (see `LockKeeper.unlock`). */
  unlock(name: string) {
    return this.locks.unlock(name);
  }

  /** Runs as the API shows them: a run waiting for its pipeline's lock says so, and why. */
  async runViews(name: string, runs: RunRow[]): Promise<(RunRow & { waitingFor?: string })[]> {
    if (!runs.some((r) => r.status === 'building')) return runs;
    const [behaviour, lock, jobs] = await Promise.all([
      this.locks.behaviour(name),
      this.options.store.getLock(name),
      this.options.agents?.waitingFor(runs.filter((r) => r.status === 'building')) ?? new Map(),
    ]);
    return runs.map((run) => {
      const reason = waitingFor(run, lock, behaviour);
      const viewed = jobs.size > 0 ? withJobReasons(run, jobs) : run;
      return reason ? { ...viewed, waitingFor: reason } : viewed;
    });
  }

  async requireRun(name: string, counter: number): Promise<RunRow> {
    const run = await this.options.store.getRun(name, counter);
    if (!run) throw new NotFoundError(`no run ${name}/${counter}`);
    return run;
  }

  /** Path of a job's log. */
  logPath(name: string, counter: number, stage: string, job: string): string {
    return this.stages.logPath(name, counter, stage, job);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { controller } of this.running.values()) controller.abort(STOPPING);
    await Promise.allSettled([...this.advancing.values()]);
    await this.pending.stop();
  }

  /** Writes a person's change and goes on with the run; answers it as the API shows runs. */
  private async apply(run: RunRow, change: RunChange): Promise<RunRow & { waitingFor?: string }> {
    await this.options.store.changeRun(run.id, change);
    this.kick(run.id, run.pipeline, run.counter);
    const fresh = await this.requireRun(run.pipeline, run.counter);
    return (await this.runViews(run.pipeline, [fresh]))[0] ?? fresh;
  }

  private async stageDefinition(pipeline: string, stage: string) {
    const row = await this.options.store.getPipeline(pipeline);
    return row ? definitionOf(row).stages.find((s) => s.name === stage) : undefined;
  }

  /**
   * Advances a run, one advance at a time per run, while holding its lease: a run leased by
   * another live instance is left to it.
   */
  private kick(runId: number, name: string, counter: number): void {
    if (this.stopped) return;
    const { store, logger, leases } = this.options;
    const previous = this.advancing.get(runId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (!(await store.claimRun(runId, leases.id, Date.now(), leases.leaseUntil()))) {
          logger.debug({ pipeline: name, counter }, 'another instance advances this run');
          return;
        }
        try {
          await this.advance(name, counter);
        } finally {
          if (!this.stopped) await store.releaseRun(runId, leases.id);
        }
      })
      .catch((error) =>
        logger.error({ err: error, pipeline: name, counter }, 'run failed unexpectedly'),
      )
      .finally(() => {
        if (this.advancing.get(runId) === next) this.advancing.delete(runId);
      });
    this.advancing.set(runId, next);
  }

  private async advance(name: string, counter: number): Promise<void> {
    for (;;) {
      const run = await this.requireRun(name, counter);
      const step = transitions.nextStep(run, now());
      if (step.kind === 'done') return;
      if (step.kind === 'settle') return void (await this.locks.write(run, step.change));
      // With a lock held elsewhere the run waits: it is started again when the lock is free.
      if (step.kind === 'run-stage' && !(await this.locks.start(run, step.change))) return;
      const controller = new AbortController();
      this.running.set(run.id, { controller, pipeline: name, counter });
      let passed: boolean | undefined;
      try {
        if (step.kind === 'resume-stage') {
          passed = await this.stages.resume(run, step.stage, controller.signal);
        } else {
          const definition = await this.stageDefinition(name, step.stage.name);
          passed = await this.stages.run(run, step.stage, definition, controller.signal);
        }
      } finally {
        this.running.delete(run.id);
      }
      // Aborted: a cancel is settled once the jobs' onCancel tasks ran; a stop leaves the run
      // to be taken over.
      if (this.stopped) return;
      if (passed === undefined) return this.settleCancel(name, counter);
      const after = await this.requireRun(name, counter);
      if (after.status === 'cancelled') return;
      // A cancel asked through another instance just as the stage ended wins.
      if (transitions.cancelRequested(after)) return this.settleCancel(name, counter);
      const stage = transitions.stageOf(after, step.stage.name);
      const { leases } = this.options;
      const owed = await this.locks.write(
        after,
        transitions.finishStage(after, stage, passed, now()),
        { owner: leases.id, until: leases.leaseUntil() },
      );
      if (passed) {
        const passedRun = await this.requireRun(name, counter);
        await this.pending.settle(owed, 0, () =>
          this.scheduler.onStagePassed(passedRun, stage.name),
        );
      }
    }
  }
}

/** A run whose queued jobs say why they wait for an agent. */
function withJobReasons(run: RunRow, reasons: ReadonlyMap<number, string>): RunRow {
  return {
    ...run,
    stages: run.stages.map((s) => ({
      ...s,
      jobs: s.jobs.map((j) => {
        const reason = reasons.get(j.id);
        return reason ? { ...j, waitingFor: reason } : j;
      }),
    })),
  };
}

function now(): string {
  return new Date().toISOString();
}
