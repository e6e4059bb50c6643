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
  /** Why the last attempt to schedule it for a new revision or a passed stage failed, if it did. */
  schedulingError: string | null;
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
  /** The material's state after the check; undefined when the check left it unchanged. */
  state: Record<string, JsonValue> | undefined;
  check: Omit<CheckRow, 'id' | 'fingerprint'>;
  nextCheckAt: string | null;
  failures: number;
  lastError: string | null;
  lastErrorCode: string | null;
  /** The instance recording the check: its lease on the material ends. */
  owner: string;
  /** New revisions: the owner holds the lease of the scheduling they cause until then (epoch ms). */
  leaseUntil?: number;
}

/** Changes of a configuration apply, made in one transaction. */
export interface ConfigurationPlan {
  repositories: Omit<RepositoryRow, 'createdAt' | 'updatedAt'>[];
  packages: Omit<PackageRow, 'createdAt' | 'updatedAt'>[];
  pipelines: Omit<PipelineRow, 'updatedAt' | 'paused' | 'schedulingError'>[];
  /** The webhooks, replacing all stored ones (left alone when undefined). */
  notifications?: NotificationRow[];
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
  /** The process group of its running task, while it runs (cleared when it ends). */
  process: JobProcess | null;
}

/** Where a job's task runs: enough to find it again after a crash, and not a reused PID. */
export interface JobProcess {
  /** Process group id (the task's shell is its leader). */
  pgid: number;
  /** The leader's start (boot id and start time from `/proc/<pid>/stat`). */
  start: string;
  /** Host name of the machine it runs on. */
  host: string;
}
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
  /**
   * `poll`: a scheduled check found it; `check-now`: a check someone asked for did; `timer`: the
   * pipeline's timer fired.
   */
  trigger: 'poll' | 'check-now' | 'manual' | 'upstream' | 'timer';
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
    pgid: number | null;
    processStart: string | null;
    host: string | null;
  }
>;

/** One run transition: patches of the run and of some of its stages and jobs. */
export interface RunChange {
  run?: RunPatch;
  stages?: { id: number; patch: StagePatch }[];
  jobs?: { id: number; patch: JobPatch }[];
  /**
   * A stage passed: the scheduling of the pipelines downstream of it is recorded with the
   * change, and completed (after a crash, too) once each has its run.
   */
  downstream?: { stage: string };
  /**
   * The run ended and gives the pipeline's lock back, if it holds it (in the same transaction,
   * so that no finished run keeps a lock after a crash). Taking it is `RunStore.startLocked`.
   */
  lock?: 'release';
}

/** The lock of a pipeline, held by one of its runs (see `pipelines/locking.ts`). */
export interface PipelineLock {
  pipeline: string;
  runId: number;
  counter: number;
  /** The holder's status: a `failed` holder keeps the lock of a `lockOnFailure` pipeline. */
  status: RunStatus;
  takenAt: string;
}

/** A run that found its pipeline locked, waiting since `since` (oldest first per pipeline). */
export interface LockWaiter {
  id: number;
  pipeline: string;
  counter: number;
  since: string;
}

/** What taking a lock answered: taken, or the holder (none: an older run waits first). */
export type LockTake = { taken: true } | { taken: false; holder: PipelineLock | undefined };

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
  /**
   * What caused it (a revision, an upstream stage): one run per pipeline and trigger key, so that
   * scheduling the same cause again after a crash creates nothing twice.
   */
  triggerKey?: string;
}

/**
 * Scheduling that is owed: recorded in the transaction that stored its cause (new revisions, a
 * passed stage), and deleted once every pipeline it concerns has its run.
 */
export type PendingTrigger =
  | {
      id: number;
      kind: 'revisions';
      fingerprint: string;
      revisions: StoredRevision[];
      checkTrigger: CheckRow['trigger'];
      attempts: number;
    }
  | {
      id: number;
      kind: 'stage';
      runId: number;
      pipeline: string;
      counter: number;
      stage: string;
      attempts: number;
    };

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

/** A webhook as stored: where it posts is sealed with its secret (a Slack URL is a secret too). */
export interface NotificationRow {
  name: string;
  /** Event type patterns. */
  events: string[];
  format: 'json' | 'slack';
  allowPrivate: boolean;
  /** Whether it has a secret (its bodies are signed). */
  signed: boolean;
  /** The URL's origin, for listings (the whole URL is sealed). */
  origin: string;
  /** `{url, secret?}` as JSON, sealed by the server's secret box. */
  sealed: string;
}

/** Delivery statuses: `pending` until it is delivered, or failed for good. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event to deliver to one webhook, with its attempts. */
export interface DeliveryRow {
  id: number;
  notification: string;
  eventId: number;
  eventType: string;
  /** The event's JSON, as it is posted. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  /** Epoch ms of the next attempt; null once it is delivered or failed. */
  nextAttemptAt: number | null;
  lastError: string | null;
  responseCode: number | null;
  createdAt: string;
  updatedAt: string;
}

/** What one attempt ended with. */
export interface DeliveryAttempt {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  responseCode: number | null;
}
