import type { JsonValue, Revision } from 'hoist';

/** Where an object came from: the configuration file, or the API. */
export type Source = 'config' | 'api';

/** A repository as stored: plain values, and secure values sealed. */
export interface RepositoryRow {
  name: string;
  plugin: string;
  config: Record<string, string>;
  /** Secure values, sealed by the server's secret box. */
  secrets: Record<string, string>;
  source: Source;
  createdAt: string;
  updatedAt: string;
}

/** A package of a repository. */
export interface PackageRow {
  repository: string;
  name: string;
  config: Record<string, string>;
  secrets: Record<string, string>;
  /** Milliseconds between checks; null for never (checked only on demand). */
  pollIntervalMs: number | null;
  fingerprint: string;
  source: Source;
  createdAt: string;
  updatedAt: string;
}

/** A pipeline definition (run by the scheduler). */
export interface PipelineRow {
  name: string;
  definition: JsonValue;
  source: Source;
  paused: boolean;
  updatedAt: string;
}

/** One polled material: one fingerprint, one history. */
export interface MaterialRow {
  fingerprint: string;
  plugin: string;
  state: Record<string, JsonValue>;
  lastCheckAt: string | null;
  nextCheckAt: string | null;
  lastError: string | null;
  lastErrorCode: string | null;
  failures: number;
  /** The instance checking it now, or null. */
  leaseOwner: string | null;
}

/** A revision in a material's history. */
export interface StoredRevision extends Revision {
  id: number;
  fingerprint: string;
  discoveredAt: string;
}

/** Outcome of one check. */
export type CheckOutcome = 'new' | 'unchanged' | 'nothing' | 'error';

/** The record of one check: "why didn't my pipeline run?" starts here. */
export interface CheckRow {
  id: number;
  fingerprint: string;
  startedAt: string;
  durationMs: number;
  outcome: CheckOutcome;
  newRevisions: string[];
  errorCode: string | null;
  error: string | null;
  decision: string;
  trigger: 'schedule' | 'start' | 'manual';
  /** The instance that made the check. */
  instance: string | null;
}

/** What one finished check changes, all in one transaction. */
export interface CheckResult {
  fingerprint: string;
  plugin: string;
  revisions: Revision[];
  state: Record<string, JsonValue>;
  check: Omit<CheckRow, 'id' | 'fingerprint'>;
  nextCheckAt: string | null;
  failures: number;
  lastError: string | null;
  lastErrorCode: string | null;
  /** The instance recording the check: its lease on the material ends. */
  owner: string;
}

/** Changes of a configuration apply, made in one transaction. */
export interface ConfigurationPlan {
  repositories: Omit<RepositoryRow, 'createdAt' | 'updatedAt'>[];
  packages: Omit<PackageRow, 'createdAt' | 'updatedAt'>[];
  pipelines: Omit<PipelineRow, 'updatedAt' | 'paused'>[];
}

/** Run statuses: `waiting` means a manual stage awaits approval. */
export type RunStatus = 'building' | 'passed' | 'failed' | 'cancelled' | 'waiting';
/** Stage statuses. */
export type StageStatus =
  | 'scheduled'
  | 'building'
  | 'passed'
  | 'failed'
  | 'cancelled'
  | 'awaiting_approval';
/** Job statuses. */
export type JobStatus = 'scheduled' | 'building' | 'passed' | 'failed' | 'cancelled';

/** One material of a run's build cause, with the exact revision the run uses. */
export interface CauseMaterial {
  /** `repo/pkg` for a package, `pipeline/stage` for an upstream pipeline. */
  material: string;
  type: 'package' | 'pipeline';
  /** The package revision, or `pipeline/counter/stage` for an upstream. */
  revision: string;
  /** Did this material change since the pipeline's previous run? */
  changed: boolean;
}

/** Why a run exists and exactly what it runs with. */
export interface BuildCause {
  materials: CauseMaterial[];
  /** Every package revision the run carries (its own and its upstreams'), by `repo/pkg`. */
  packages: Record<string, Revision>;
  /** The upstream run, for a run triggered by an upstream stage. */
  upstream?: { pipeline: string; counter: number; stage: string };
}

/** A job of a stage. */
export interface JobRow {
  id: number;
  stageId: number;
  name: string;
  status: JobStatus;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  error: string | null;
}

/** A stage of a run. */
export interface StageRow {
  id: number;
  runId: number;
  position: number;
  name: string;
  status: StageStatus;
  approval: 'auto' | 'manual';
  approvedBy: string | null;
  approvedAt: string | null;
  approvalComment: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  jobs: JobRow[];
}

/** A pipeline run. */
export interface RunRow {
  id: number;
  pipeline: string;
  counter: number;
  status: RunStatus;
  cause: BuildCause;
  revisionKey: string;
  /** `poll`: a scheduled check found it; `check-now`: a check someone asked for did. */
  trigger: 'poll' | 'check-now' | 'manual' | 'upstream';
  triggeredBy: string | null;
  createdAt: string;
  finishedAt: string | null;
  stages: StageRow[];
}

/** What a transition may change of a run. */
export type RunPatch = Partial<Pick<RunRow, 'status' | 'finishedAt'>>;
/** What a transition may change of a stage. */
export type StagePatch = Partial<
  Pick<
    StageRow,
    'status' | 'approvedBy' | 'approvedAt' | 'approvalComment' | 'startedAt' | 'finishedAt'
  >
>;
/** What a transition may change of a job; `instance` is where it runs (its log lives there). */
export type JobPatch = Partial<
  Pick<JobRow, 'status' | 'startedAt' | 'finishedAt' | 'exitCode' | 'error'> & {
    instance: string;
  }
>;

/** One run transition: patches of the run and of some of its stages and jobs. */
export interface RunChange {
  run?: RunPatch;
  stages?: { id: number; patch: StagePatch }[];
  jobs?: { id: number; patch: JobPatch }[];
}

/** A run to create. */
export interface NewRun {
  pipeline: string;
  cause: BuildCause;
  /** Identity of the run's revisions; with `dedupe`, a second run with the same key is refused. */
  revisionKey: string;
  dedupe: boolean;
  trigger: RunRow['trigger'];
  triggeredBy: string | null;
  stages: { name: string; approval: 'auto' | 'manual'; jobs: string[] }[];
  /**
   * The person whose manual run opens a manual first stage (triggering it is the approval; the
   * caller has checked they may). Without it, a manual first stage awaits approval.
   */
  openedBy?: { name: string; comment?: string };
  /** The instance creating the run holds its lease until this time (epoch ms). */
  lease?: { owner: string; until: number };
}

/** A material whose check this instance now holds the lease of. */
export interface ClaimedMaterial {
  fingerprint: string;
  /** Why it is due: `manual` for a check-now, `start` at start-up, else `schedule`. */
  trigger: CheckRow['trigger'];
}

/** A server process sharing the store. */
export interface InstanceInfo {
  id: string;
  host: string;
  pid: number;
  url: string;
  version: string;
}

/** An instance as listed, with the leases it holds. */
export interface InstanceRow extends InstanceInfo {
  startedAt: string;
  heartbeatAt: string;
  /** Fingerprints of the materials it is checking. */
  materials: string[];
  /** Runs it is advancing, as `pipeline/counter`. */
  runs: string[];
}

/** One entry of the audit log: who did what, when. */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  /** e.g. `POST /api/pipelines/:name/runs/:counter/stages/:stage/approve` */
  action: string;
  /** The route's parameters, e.g. `deploy/2/production`. */
  target: string;
  /** HTTP status of the answer. */
  outcome: number;
}

/**
 * Hoist's persistent state. Every method that changes several rows is one transaction: a crash
 * at any point leaves the store as it was before the call or after it. Asynchronous so that a
 * networked database can implement it.
 */
export interface Store {
  /** `sqlite` serves one instance; `postgres` lets several share the work. */
  readonly kind: 'sqlite' | 'postgres';
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
  savePipeline(row: Omit<PipelineRow, 'updatedAt' | 'paused'>): Promise<void>;
  deletePipeline(name: string): Promise<void>;

  /**
   * Makes the config-sourced objects exactly those of the plan (adding, changing and removing
   * them), leaving API-made ones alone.
   */
  applyConfiguration(
    plan: ConfigurationPlan,
  ): Promise<{ added: number; changed: number; removed: number }>;

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

  /** Stores a check: its new revisions (a revision already known is ignored), state and record. */
  recordCheck(result: CheckResult): Promise<{ inserted: StoredRevision[] }>;
  latestRevision(fingerprint: string): Promise<StoredRevision | undefined>;
  /** Newest first. */
  listRevisions(fingerprint: string, limit: number): Promise<StoredRevision[]>;
  /** Newest first. */
  listChecks(fingerprint: string, limit: number): Promise<CheckRow[]>;
  /** The latest revision of every material that has one (one query, for overviews). */
  latestRevisions(): Promise<StoredRevision[]>;
  /** The last `limit` checks of every material, newest first within each (for overviews). */
  recentChecks(limit: number): Promise<CheckRow[]>;

  /** Pauses or resumes a pipeline. */
  setPipelinePaused(name: string, paused: boolean): Promise<void>;

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
   * Writes one run transition: the patches of the run, its stages and its jobs, in one
   * transaction (all of them or none).
   */
  changeRun(runId: number, change: RunChange): Promise<void>;
  /** The instance that ran a job, if any. */
  jobInstance(id: number): Promise<string | null>;

  // --- work sharing between instances ---------------------------------------------------

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

  addAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  listAudit(limit: number): Promise<AuditEntry[]>;

  close(): Promise<void>;
}

/** The store's work-sharing methods (instances, leases, settings). */
export type StoreWorkSharing = Pick<
  Store,
  | 'jobInstance'
  | 'registerInstance'
  | 'heartbeat'
  | 'renewMaterialLeases'
  | 'renewRunLeases'
  | 'retireInstance'
  | 'listInstances'
  | 'releaseLeases'
  | 'claimDueMaterials'
  | 'releaseMaterial'
  | 'claimRun'
  | 'releaseRun'
  | 'claimOrphanRuns'
  | 'setting'
>;
