import { ConflictError, HoistError, NotFoundError, type PluginHost, type Revision } from 'hoist';
import type { Catalog, PolledPackage } from '../catalog/catalog.ts';
import type { PipelineConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { CheckRow, PipelineRow, RunRow, Store } from '../store/store.ts';
import { type Actor, requireApprover } from './approvals.ts';
import { candidates, type PinChoices } from './candidates.ts';
import { composeCause, revisionKey } from './cause.ts';
import { definitionOf, packageMaterials, upstreamMaterials } from './definition.ts';
import { findRevision, latestOf } from './lookup.ts';
import { carries, type RunSelection, type RunSources, resolveRun } from './resolve.ts';

export type { PinChoices } from './candidates.ts';

/** How many runs of an upstream pipeline are searched for one that passed. */
const UPSTREAM_SEARCH = 1000;

/** What the scheduler needs. */
export interface SchedulerOptions {
  store: Store;
  catalog: Catalog;
  host: PluginHost;
  logger: Logger;
  /** The instance creating runs holds their lease. */
  lease: () => { owner: string; until: number };
  /** Starts advancing a run just created. */
  start: (run: RunRow) => void;
}

/** A manual run's request: package revisions and upstream runs to pin. */
export interface ScheduleRequest {
  /** Package revision labels by `repo/pkg` (of the pipeline's own or its upstreams'). */
  revisions?: Record<string, string>;
  /** Upstream runs by pipeline name: `{ build: 2 }` runs with `build/2`'s packages. */
  upstream?: Record<string, number>;
  /** Why: the approval comment of a manual first stage, which the run opens. */
  comment?: string;
}

/** What a timer's firing did: a run scheduled (here or by another instance), or why not. */
export type TimerOutcome =
  | { outcome: 'scheduled'; counter?: number; by?: 'another instance' }
  | { outcome: `skipped: ${string}` };

/** What a run is created from. */
interface Creation {
  selection: RunSelection;
  trigger: RunRow['trigger'];
  triggeredBy: string | null;
  /** A second run with the same revisions is refused (automatic triggers). */
  dedupe: boolean;
  openedBy?: { name: string; comment?: string };
  /** One run per pipeline and trigger key (a revision, a passed upstream stage). */
  triggerKey?: string;
}

/**
 * Decides what to run for which revisions: new revisions of a package schedule the pipelines
 * that take it from the repository, a passed stage schedules the pipelines downstream of it,
 * and a person's request schedules a run pinned to revisions or upstream runs.
 */
export class Scheduler {
  private readonly sources: RunSources;

  constructor(private readonly options: SchedulerOptions) {
    const { store } = options;
    this.sources = {
      definition: async (name) => {
        const row = await store.getPipeline(name);
        return row ? definitionOf(row) : undefined;
      },
      runs: (name) => store.listRuns(name, UPSTREAM_SEARCH),
      run: (name, counter) => store.getRun(name, counter),
      latest: (material) => latestOf(options, material),
      revision: (material, label) => findRevision(options, material, label),
    };
  }

  /**
   * New revisions of a material: schedule the pipelines that take it from the repository, each
   * on its own (an error with one is logged and recorded on it; the others are scheduled).
   * A revision's run is keyed by pipeline and revision, so that scheduling the same revisions
   * again (after a crash) creates no second run. Answers whether every pipeline was handled.
   */
  async onRevisions(
    pkg: PolledPackage,
    inserted: (Revision & { id?: number })[],
    check: CheckRow['trigger'] = 'schedule',
  ): Promise<boolean> {
    const material = `${pkg.repository}/${pkg.name}`;
    // All runs are created before any starts: their first jobs would otherwise compete with the
    // scheduling of the rest (for the database and the CPU).
    const created: RunRow[] = [];
    let handled = true;
    for (const pipeline of await this.options.store.listPipelines()) {
      const definition = definitionOf(pipeline);
      const entry = packageMaterials(definition).find((m) => m.package === material);
      if (!entry) continue;
      const ok = await this.guarded(pipeline, async () => {
        const why = await this.autoTriggerBlocked(pipeline, material);
        if (why) {
          this.options.logger.info({ pipeline: pipeline.name, material }, `not scheduled: ${why}`);
          return;
        }
        const chosen = entry.trigger === 'every' ? inserted : inserted.slice(-1);
        for (const revision of chosen) {
          const run = await this.createAutomatic(pipeline, {
            selection: { changed: { [material]: revision } },
            trigger: check === 'manual' ? 'check-now' : 'poll',
            triggeredBy: null,
            dedupe: true,
            ...(revision.id === undefined ? {} : { triggerKey: `revision:${revision.id}` }),
          });
          if (run) created.push(run);
        }
      });
      handled &&= ok;
    }
    for (const run of created) this.options.start(run);
    return handled;
  }

  /**
   * A stage passed: schedule the pipelines downstream of it, with the same packages, each on its
   * own and once per pipeline and passed stage. Answers whether every pipeline was handled.
   */
  async onStagePassed(run: RunRow, stage: string): Promise<boolean> {
    let handled = true;
    for (const pipeline of await this.options.store.listPipelines()) {
      const listens = upstreamMaterials(definitionOf(pipeline)).some(
        (m) => m.pipeline === run.pipeline && m.stage === stage,
      );
      if (!listens || pipeline.paused) continue;
      const ok = await this.guarded(pipeline, async () => {
        const created = await this.createAutomatic(pipeline, {
          selection: { upstream: { run, stage } },
          trigger: 'upstream',
          triggeredBy: null,
          dedupe: true,
          triggerKey: `stage:${run.id}:${stage}`,
        });
        if (created) this.options.start(created);
      });
      handled &&= ok;
    }
    return handled;
  }

  /**
   * Schedules one pipeline: an unexpected error is logged and recorded on the pipeline (its
   * `schedulingError`), and cleared by the next scheduling that works.
   */
  private async guarded(pipeline: PipelineRow, work: () => Promise<void>): Promise<boolean> {
    const { store, logger } = this.options;
    try {
      await work();
      if (pipeline.schedulingError !== null) await store.setSchedulingError(pipeline.name, null);
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.error({ err: error, pipeline: pipeline.name }, `scheduling failed: ${reason}`);
      await store
        .setSchedulingError(pipeline.name, reason)
        .catch((failure) =>
          logger.error({ err: failure, pipeline: pipeline.name }, 'could not record the error'),
        );
      return false;
    }
  }

  /**
   * A person's run, optionally pinned (promotion and rollback). Scheduling a pipeline whose
   * first stage is manual opens that stage, so only its approvers may.
   */
  async schedule(name: string, request: ScheduleRequest, actor: Actor): Promise<RunRow> {
    const pipeline = await this.options.store.getPipeline(name);
    if (!pipeline) throw new NotFoundError(`no pipeline '${name}'`);
    const definition = definitionOf(pipeline);
    const first = definition.stages[0];
    requireApprover(first, actor, name, 'run');
    const run = await this.create(pipeline, {
      selection: {
        pins: { packages: request.revisions ?? {}, upstreams: request.upstream ?? {} },
      },
      trigger: 'manual',
      triggeredBy: actor.name,
      dedupe: false,
      ...(first?.approval === 'manual'
        ? {
            openedBy: {
              name: actor.name,
              ...(request.comment ? { comment: request.comment } : {}),
            },
          }
        : {}),
    });
    if (!run) throw new ConflictError(`pipeline '${name}' was not scheduled`);
    this.options.start(run);
    return run;
  }

  /** What a person may pin a pipeline to (see `candidates`). */
  choices(name: string): Promise<PinChoices> {
    return candidates(name, this.options.store, this.sources);
  }

  private async createAutomatic(pipeline: PipelineRow, creation: Creation) {
    try {
      return await this.create(pipeline, creation);
    } catch (error) {
      if (!(error instanceof HoistError)) throw error;
      this.options.logger.info({ pipeline: pipeline.name }, `not scheduled: ${error.message}`);
      return undefined;
    }
  }

  private async create(pipeline: PipelineRow, creation: Creation): Promise<RunRow | undefined> {
    const definition = definitionOf(pipeline);
    const cause = await this.causeOf(definition, creation.selection);
    return this.insert(pipeline, definition, cause, creation);
  }

  /** The packages a run of this selection receives. */
  private async causeOf(definition: PipelineConfig, selection: RunSelection) {
    const inputs = await resolveRun(definition, selection, this.sources);
    return composeCause(definition, inputs);
  }

  private async insert(
    pipeline: PipelineRow,
    definition: PipelineConfig,
    cause: Awaited<ReturnType<Scheduler['causeOf']>>,
    creation: Omit<Creation, 'selection'>,
  ): Promise<RunRow | undefined> {
    const { store, logger } = this.options;
    const run = await store.createRun({
      pipeline: pipeline.name,
      cause,
      revisionKey: revisionKey(cause),
      dedupe: creation.dedupe,
      trigger: creation.trigger,
      triggeredBy: creation.triggeredBy,
      lease: this.options.lease(),
      stages: stagesOf(definition),
      ...(creation.openedBy ? { openedBy: creation.openedBy } : {}),
      ...(creation.triggerKey ? { triggerKey: creation.triggerKey } : {}),
    });
    if (!run) {
      logger.info(
        { pipeline: pipeline.name },
        creation.trigger === 'timer'
          ? 'not scheduled: another instance scheduled this firing'
          : 'not scheduled: it already ran with these revisions',
      );
      return undefined;
    }
    logger.info(
      {
        pipeline: run.pipeline,
        counter: run.counter,
        trigger: creation.trigger,
        materials: cause.materials,
      },
      'run scheduled',
    );
    return run;
  }

  /**
   * A pipeline's timer fired at `at` (its scheduled time, ISO): a run as a person's run without
   * pins would have (the newest revisions, the newest upstream runs that passed), keyed by the
   * firing so that instances firing the same time create one run; it opens a manual first stage
   * (approved by `timer`), as a person's run does. With `onlyOnChanges`, nothing
   * runs when those revisions are the ones of the pipeline's latest run. Answers what it did.
   */
  async onTimer(name: string, at: string): Promise<TimerOutcome> {
    const pipeline = await this.options.store.getPipeline(name);
    if (!pipeline) return { outcome: 'skipped: the pipeline is gone' };
    const definition = definitionOf(pipeline);
    if (!definition.timer) return { outcome: 'skipped: the pipeline has no timer' };
    if (pipeline.paused) return { outcome: 'skipped: the pipeline is paused' };
    let outcome: TimerOutcome = {
      outcome: "skipped: scheduling failed (the pipeline's schedulingError says why)",
    };
    await this.guarded(pipeline, async () => {
      let cause: Awaited<ReturnType<Scheduler['causeOf']>>;
      try {
        cause = await this.causeOf(definition, { pins: { packages: {}, upstreams: {} } });
      } catch (error) {
        if (!(error instanceof HoistError)) throw error;
        outcome = { outcome: `skipped: ${error.message}` };
        return;
      }
      if (definition.timer?.onlyOnChanges) {
        const [latest] = await this.options.store.listRuns(name, 1);
        if (latest && latest.revisionKey === revisionKey(cause)) {
          outcome = { outcome: `skipped: nothing new since run ${latest.counter}` };
          return;
        }
      }
      const { timer } = definition;
      const run = await this.insert(pipeline, definition, cause, {
        trigger: 'timer',
        triggeredBy: null,
        dedupe: false,
        triggerKey: `timer:${at}`,
        // As a person's run does, the timer opens a manual first stage: the configuration that
        // gave the pipeline its timer is the approval (new revisions alone do not start it).
        ...(definition.stages[0]?.approval === 'manual' && timer
          ? { openedBy: { name: 'timer', comment: `timer ${timer.cron} (${timer.timezone})` } }
          : {}),
      });
      outcome = run
        ? { outcome: 'scheduled', counter: run.counter }
        : { outcome: 'scheduled', by: 'another instance' };
      if (run) this.options.start(run);
    });
    return outcome;
  }

  /** Why a new revision does not start this pipeline by itself, if it does not. */
  private async autoTriggerBlocked(pipeline: PipelineRow, material: string) {
    if (pipeline.paused) return 'the pipeline is paused';
    const definition = definitionOf(pipeline);
    // Fan-in: when an upstream pipeline carries this package, run with the revision it tested.
    for (const m of upstreamMaterials(definition)) {
      if (await carries(m.pipeline, material, this.sources)) {
        return `upstream pipeline '${m.pipeline}' carries ${material}: this pipeline runs when its stage '${m.stage}' passes`;
      }
    }
    if (definition.stages[0]?.approval === 'manual')
      return 'its first stage is manual: an approver runs it';
    return undefined;
  }
}

function stagesOf(definition: PipelineConfig) {
  return definition.stages.map((s) => ({
    name: s.name,
    approval: s.approval,
    jobs: s.jobs.map((j) => j.name),
  }));
}
