/** Agents and the jobs they run, as stored (see `server/agents/`). */

/** An agent's state as an admin sets it; `pending` until enabled (unless auto-enabled). */
export type AgentState = 'pending' | 'enabled' | 'disabled';

/** A registered `hoist agent`. */
export interface AgentRow {
  id: string;
  hostname: string;
  state: AgentState;
  resources: string[];
  environments: string[];
  version: string;
  registeredAt: string;
  /** Epoch ms of its last heartbeat or request, null before the first. */
  heartbeatAt: number | null;
  /** It stops taking work (SIGTERM) and exits once its job ended. */
  draining: boolean;
}

/** A new agent. */
export interface NewAgent {
  id: string;
  hostname: string;
  tokenDigest: string;
  state: AgentState;
  resources: string[];
  version: string;
  now: number;
}

/** Where a job dispatched to agents stands. */
export type AgentJobState = 'scheduled' | 'running' | 'done';

/** A job's end as an agent (or the server, for a lost agent) reports it. */
export interface AgentJobResult {
  passed: boolean;
  exitCode: number | null;
  error: string | null;
  /** The job was cancelled before or while it ran. */
  cancelled?: boolean;
}

/** What a job needs of an agent. */
export interface AgentRequirements {
  resources: string[];
  /** The pipeline's environment, or null. */
  environment: string | null;
}

/** One attempt of a job on agents: queued, claimed by one agent, ended. */
export interface AgentJobRow extends AgentRequirements {
  id: number;
  jobId: number;
  runId: number;
  pipeline: string;
  counter: number;
  stage: string;
  job: string;
  /** The job spec sealed with the server's secret key (it holds the job's secrets). */
  sealedSpec: string;
  state: AgentJobState;
  agentId: string | null;
  scheduledAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  heartbeatAt: number | null;
  cancelRequested: boolean;
  result: AgentJobResult | null;
  logBytes: number;
}

/** A job to queue for agents. */
export type NewAgentJob = Pick<
  AgentJobRow,
  | 'jobId'
  | 'runId'
  | 'pipeline'
  | 'counter'
  | 'stage'
  | 'job'
  | 'resources'
  | 'environment'
  | 'sealedSpec'
  | 'scheduledAt'
>;

/** What an agent's heartbeat answers: the jobs it runs whose cancel was asked for. */
export interface AgentBeat {
  agent: AgentRow | undefined;
  cancel: number[];
}

/** Agents, the jobs dispatched to them and their logs; every change one transaction. */
export interface AgentStore {
  registerAgent(agent: NewAgent): Promise<AgentRow>;
  /** The agent a token's sha256 digest (hex) belongs to. */
  agentByToken(digest: string): Promise<AgentRow | undefined>;
  getAgent(id: string): Promise<AgentRow | undefined>;
  listAgents(): Promise<AgentRow[]>;
  /** Changes an agent's state or environments; answers it, or undefined when unknown. */
  updateAgent(
    id: string,
    patch: { state?: AgentState; environments?: string[] },
  ): Promise<AgentRow | undefined>;
  /** Removes an agent (its token stops working); answers whether it existed. */
  removeAgent(id: string): Promise<boolean>;
  /**
   * An agent is alive: its heartbeat, resources, version and draining flag are written, and the
   * heartbeat of the jobs it says it holds (`seen.jobs`; every running job of it when it says
   * nothing), so that a job it took but does not hold (its answer was lost, it crashed before
   * it began) is failed once the agent timeout passes. Answers those of its held jobs to stop:
   * their cancel was asked for, or they already ended here (failed while the agent was away).
   */
  agentHeartbeat(
    id: string,
    now: number,
    seen: { resources: string[]; version: string; draining: boolean; jobs?: number[] },
  ): Promise<AgentBeat>;
  /** Queues one attempt of a job for agents; answers its id. */
  enqueueAgentJob(job: NewAgentJob): Promise<number>;
  /**
   * Gives the oldest queued job that `fits` to the agent, atomically across instances, and marks
   * the job building (one transaction); undefined when none fits or another agent took it.
   */
  claimAgentJob(
    agentId: string,
    now: number,
    fits: (job: AgentJobRow) => boolean,
  ): Promise<AgentJobRow | undefined>;
  getAgentJob(id: number): Promise<AgentJobRow | undefined>;
  /** The newest attempt of each of these jobs on agents, by job id. */
  latestAgentJobs(jobIds: readonly number[]): Promise<AgentJobRow[]>;
  /** Jobs queued or running on agents. */
  openAgentJobs(): Promise<AgentJobRow[]>;
  /**
   * Appends a log chunk at byte `offset` when it is where the log ends; a chunk already stored
   * (a retry) changes nothing. Answers the log's length in bytes after it.
   */
  appendAgentLog(id: number, offset: number, text: string, bytes: number): Promise<number>;
  /** The stored log of an attempt. */
  agentLog(id: number): Promise<string>;
  /**
   * Records an attempt's end, once: a second report (a retry) changes nothing. Answers whether
   * the attempt is now ended (false when it is not this agent's).
   */
  finishAgentJob(
    id: number,
    agentId: string | null,
    result: AgentJobResult,
    now: number,
  ): Promise<boolean>;
  /** Asks for an attempt's cancel; a queued one ends cancelled at once. */
  cancelAgentJob(id: number, now: number): Promise<void>;
  /**
   * Attempts whose agent was silent since `silentSince` (epoch ms) end failed with `reason(agent)`;
   * answers them.
   */
  expireAgentJobs(
    silentSince: number,
    now: number,
    reason: (agent: AgentRow | undefined) => string,
  ): Promise<AgentJobRow[]>;
}
