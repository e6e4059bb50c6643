import type { EventDraft, HoistEvent } from '../events/model.ts';
import type { AgentStore } from './agent-model.ts';
import type {
  AuditEntry,
  CheckResult,
  CheckRow,
  ClaimedMaterial,
  ConfigurationPlan,
  DeliveryAttempt,
  DeliveryRow,
  InstanceInfo,
  InstanceRow,
  JobProcess,
  LockTake,
  LockWaiter,
  MaterialRow,
  NewRun,
  NotificationRow,
  PackageRow,
  PendingTrigger,
  PipelineLock,
  PipelineRow,
  RepositoryRow,
  RunChange,
  RunRow,
  RunStatus,
  StoredRevision,
} from './model.ts';

export type { EventDraft, HoistEvent } from '../events/model.ts';
export type * from './agent-model.ts';
export type * from './model.ts';

/**
 * Hoist's persistent state. Every method that changes several rows is one transaction: a crash
 * at any point leaves the store as it was before the call or after it. Asynchronous so that a
 * networked database can implement it.
 */
export interface Store
  extends ConfigurationStore,
    MaterialStore,
    RunStore,
    LockStore,
    WorkSharingStore,
    TriggerStore,
    AuditStore,
    OverviewStore,
    EventStore,
    NotificationStore,
    AgentStore {
  /** `sqlite` serves one instance; `postgres` lets several share the work. */
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/** Repositories, packages and pipelines as configured. */
export interface ConfigurationStore {
  listRepositories(): Promise<RepositoryRow[]>;
  getRepository(name: string): Promise<RepositoryRow | undefined>;
  saveRepository(row: Omit<RepositoryRow, 'createdAt' | 'updatedAt'>): Promise<void>;
  /** Deletes the repository and its packages. */
  deleteRepository(name: string): Promise<void>;

  listPackages(repository?: string): Promise<PackageRow[]>;
  getPackage(repository: string, name: string): Promise<PackageRow | undefined>;
  savePackage(row: Omit<PackageRow, 'createdAt' | 'updatedAt'>): Promise<void>;
  deletePackage(repository: string, name: string): Promise<void>;

  listPipelines(): Promise<PipelineRow[]>;
  getPipeline(name: string): Promise<PipelineRow | undefined>;
  savePipeline(row: Omit<PipelineRow, 'updatedAt' | 'paused' | 'schedulingError'>): Promise<void>;
  deletePipeline(name: string): Promise<void>;

  /**
   * Makes the config-sourced objects exactly those of the plan (adding, changing and removing
   * them), leaving API-made ones alone.
   */
  applyConfiguration(
    plan: ConfigurationPlan,
  ): Promise<{ added: number; changed: number; removed: number }>;
  /** Pauses or resumes a pipeline. */
  setPipelinePaused(name: string, paused: boolean): Promise<void>;
  /** Records (or clears, with null) why scheduling a pipeline failed. */
  setSchedulingError(name: string, error: string | null): Promise<void>;
}

/** Materials: their schedule, their revision history and the record of every check. */
export interface MaterialStore {
  /** Creates the material row if it does not exist. */
  ensureMaterial(fingerprint: string, plugin: string, nextCheckAt: string | null): Promise<void>;
  getMaterial(fingerprint: string): Promise<MaterialRow | undefined>;
  listMaterials(): Promise<MaterialRow[]>;
  /**
   * Sets when the material is next due, and why (`manual`: a check-now, kept across a check
   * running meanwhile; `start`: the check at start-up).
   */
  scheduleMaterial(
    fingerprint: string,
    nextCheckAt: string | null,
    trigger?: 'manual' | 'start',
  ): Promise<void>;

  /**
   * Stores a check: its new revisions (a revision already known is ignored), state and record,
   * and, when there are new revisions, the scheduling they cause as a pending trigger leased to
   * the check's owner.
   */
  recordCheck(result: CheckResult): Promise<{ inserted: StoredRevision[]; pending?: number }>;
  latestRevision(fingerprint: string): Promise<StoredRevision | undefined>;
  /** Newest first. */
  listRevisions(fingerprint: string, limit: number): Promise<StoredRevision[]>;
  /** Newest first. */
  listChecks(fingerprint: string, limit: number): Promise<CheckRow[]>;
  /** The latest revision of every material that has one (one query, for overviews). */
  latestRevisions(): Promise<StoredRevision[]>;
  /** The last `limit` checks of every material, newest first within each (for overviews). */
  recentChecks(limit: number): Promise<CheckRow[]>;
}

/**
 * One material's overview as stored, with no JSON decoded: its package, its schedule and error
 * columns, and the ids of its newest check and revision (what an overview may cache by).
 */
export interface MaterialSummary {
  repository: string;
  name: string;
  fingerprint: string;
  pollIntervalMs: number | null;
  /** Null until the material row exists. */
  plugin: string | null;
  nextCheckAt: string | null;
  lastError: string | null;
  lastErrorCode: string | null;
  failures: number;
  leaseOwner: string | null;
  lastCheckId: number | null;
  lastRevisionId: number | null;
}

/** A pipeline with its definition as the stored JSON text of an object. */
export interface PipelineText {
  name: string;
  definition: string;
  paused: boolean;
  source: PipelineRow['source'];
  schedulingError: string | null;
  /** Its lock, when a row holds one (see `pipelines/locking.ts` for whether it holds). */
  lock?: PipelineLock;
}

/** The number of a pipeline's runs in one status. */
export interface RunCount {
  pipeline: string;
  status: RunStatus;
  count: number;
}

/** Reads for overviews that dashboards poll: indexed, one query each, no history decoded. */
export interface OverviewStore {
  /** Every package's material summary, by repository and name. */
  materialSummaries(): Promise<MaterialSummary[]>;
  /** The last `limit` checks of these materials, newest first within each. */
  recentChecksOf(fingerprints: readonly string[], limit: number): Promise<CheckRow[]>;
  /** The latest revision of each of these materials that has one. */
  latestRevisionsOf(fingerprints: readonly string[]): Promise<StoredRevision[]>;
  /** Every pipeline, by name, its definition left as text. */
  pipelineTexts(): Promise<PipelineText[]>;
  /** How many runs each pipeline has in each status (one grouped query, for metrics). */
  runCounts(): Promise<RunCount[]>;
  /**
   * A value that changes whenever anything in the store changes (read it before the data it
   * guards), or undefined when the store cannot tell cheaply: answers are then built every time.
   */
  changeMark(): Promise<string | undefined>;
}

/** Pipeline runs with their stages and jobs; each change of one is a transition. */
export interface RunStore {
  /**
   * Creates a run with its stages and jobs (first stage scheduled), numbering it after the
   * pipeline's last run, in one transaction. Returns undefined when `dedupe` is set and a run
   * with the same revision key exists.
   */
  createRun(run: NewRun): Promise<RunRow | undefined>;
  getRun(pipeline: string, counter: number): Promise<RunRow | undefined>;
  /** Newest first. */
  listRuns(pipeline: string, limit: number): Promise<RunRow[]>;
  /** Runs that are building or waiting. */
  listActiveRuns(): Promise<RunRow[]>;
  /**
   * Writes one run transition: the patches of the run, its stages and its jobs, and the
   * downstream scheduling it causes (a pending trigger, leased with `lease`), in one transaction
   * (all of them or none). Answers the pending trigger's id, if one was recorded.
   */
  changeRun(
    runId: number,
    change: RunChange,
    lease?: { owner: string; until: number },
  ): Promise<number | undefined>;
  /** Jobs that finished with their process group still recorded (it may have outlived them). */
  strayJobs(host: string): Promise<{ id: number; runId: number; process: JobProcess }[]>;
}

/**
 * Pipeline locks: at most one run of a locked pipeline in progress. A lock is a row of its own
 * (a configuration apply that rewrites the pipeline leaves it alone); takers of one pipeline's
 * lock are serialised across instances.
 */
export interface LockStore {
  /**
   * Takes the pipeline's lock for the run and writes `change` (the start of a stage), in one
   * transaction. The lock is taken when it is free, or held by a run that passed or was
   * cancelled, and no older run of the pipeline waits for it; the holder keeps it. Otherwise
   * nothing of `change` is written: the run is recorded as waiting, and the holder answered.
   */
  startLocked(runId: number, change: RunChange): Promise<LockTake>;
  getLock(pipeline: string): Promise<PipelineLock | undefined>;
  listLocks(): Promise<PipelineLock[]>;
  /**
   * Releases the lock if run `runId` still holds it with status `status` (an operator's unlock
   * of a failed run); answers whether it did.
   */
  releaseLock(pipeline: string, runId: number, status: RunStatus): Promise<boolean>;
  /** Building runs waiting for their pipeline's lock, by pipeline then counter. */
  lockWaiters(pipeline?: string): Promise<LockWaiter[]>;
}

/** Scheduling owed: recorded with its cause, completed once every pipeline has its run. */
export interface TriggerStore {
  /**
   * Leases up to `limit` pending triggers that nobody holds (their instance stopped before
   * completing them, or gave them back to try again).
   */
  claimPendingTriggers(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
  ): Promise<PendingTrigger[]>;
  /** Extends `owner`'s leases on these pending triggers. */
  renewPendingTriggers(owner: string, held: readonly number[], leaseUntil: number): Promise<void>;
  /** Every pipeline it concerns has its run: the trigger is done. */
  completePendingTrigger(id: number): Promise<void>;
  /** Scheduling some pipeline failed: counted, and given back to be tried again. */
  retryPendingTrigger(id: number): Promise<void>;
}

/** Work sharing between instances: instances, leases, settings. */
export interface WorkSharingStore {
  /** The instance that ran a job, if any. */
  jobInstance(id: number): Promise<string | null>;
  /** Announces an instance (or announces it again after a restart). */
  registerInstance(info: InstanceInfo, now: number): Promise<void>;
  /** The instance is alive (and instances silent for a day are forgotten). */
  heartbeat(id: string, now: number): Promise<void>;
  /**
   * Extends `owner`'s leases on these materials to `leaseUntil`, and ends its other material
   * leases (work it no longer does, e.g. a check whose record failed, must not stay blocked).
   */
  renewMaterialLeases(owner: string, held: readonly string[], leaseUntil: number): Promise<void>;
  /** The same for runs: those it advances are extended, the others released. */
  renewRunLeases(owner: string, held: readonly number[], leaseUntil: number): Promise<void>;
  /** A clean stop: its leases are released and it leaves the list. */
  retireInstance(id: string): Promise<void>;
  /** Instances seen since `since` (epoch ms), with their leases. */
  listInstances(since: number): Promise<InstanceRow[]>;
  /** Releases every lease `owner` holds (a restarted instance's leases from before). */
  releaseLeases(owner: string): Promise<void>;
  /**
   * Leases up to `limit` due materials (polled packages whose next check is at or before `now`)
   * that nobody holds, or whose lease expired; each is leased to one instance only.
   */
  claimDueMaterials(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
  ): Promise<ClaimedMaterial[]>;
  /** Ends `owner`'s lease on a material without recording a check (a stopped check). */
  releaseMaterial(fingerprint: string, owner: string): Promise<void>;
  /** Leases a run to `owner` unless a live lease of another instance holds it. */
  claimRun(id: number, owner: string, now: number, leaseUntil: number): Promise<boolean>;
  releaseRun(id: number, owner: string): Promise<void>;
  /** Leases building runs nobody holds (their instance stopped); returns them. */
  claimOrphanRuns(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
  ): Promise<{ id: number; pipeline: string; counter: number }[]>;

  /** A value kept in the store (e.g. the check of the secret key), set once. */
  setting(key: string, initial: string): Promise<string>;
}

/** Who changed, approved or ran what. */
export interface AuditStore {
  addAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  listAudit(limit: number): Promise<AuditEntry[]>;
}

/** The store's work-sharing methods (instances, leases, settings). */
export type StoreWorkSharing = WorkSharingStore;

/**
 * The event stream (see `events/model.ts`): events are written by the other methods in the
 * transaction of their change, and read back here in id order.
 */
export interface EventStore {
  /** Appends events that no other change carries (e.g. an agent's state), in one transaction. */
  appendEvents(drafts: readonly EventDraft[]): Promise<HoistEvent[]>;
  /** Events with an id above `after`, oldest first, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<HoistEvent[]>;
  /** The newest event's id (0 when there is none). */
  lastEventId(): Promise<number>;
  /** Deletes events older than `before` (ISO time) and beyond the newest `keep`; answers how many. */
  pruneEvents(before: string, keep: number): Promise<number>;
  /**
   * Calls `listener` after events were committed: by this instance on SQLite, by any instance
   * on PostgreSQL (`LISTEN`). Answers a function that removes it.
   */
  onEvents(listener: () => void): () => void;
}

/** Webhooks and their deliveries, shared by every instance. */
export interface NotificationStore {
  listNotifications(): Promise<NotificationRow[]>;
  /**
   * Records the deliveries of the events up to `through` (a delivery already recorded is kept as
   * it is) and moves the cursor there, in one transaction; answers the new cursor.
   */
  enqueueDeliveries(
    deliveries: readonly Pick<DeliveryRow, 'notification' | 'eventId' | 'eventType' | 'body'>[],
    through: number,
  ): Promise<number>;
  /** The id of the last event turned into deliveries; `initial` (and stored) when none was yet. */
  deliveryCursor(initial: number): Promise<number>;
  /** Leases up to `limit` pending deliveries that are due and that nobody holds. */
  claimDeliveries(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
  ): Promise<DeliveryRow[]>;
  /** Records an attempt and ends the lease, with the event that says so, in one transaction. */
  finishDelivery(
    id: number,
    attempt: DeliveryAttempt,
    event: EventDraft | undefined,
  ): Promise<void>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(notification: string, limit: number): Promise<DeliveryRow[]>;
}
