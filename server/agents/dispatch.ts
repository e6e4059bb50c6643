import { EventEmitter } from 'node:events';
import { masker } from '../../agent/job/masking.ts';
import type { JobOutcome } from '../../agent/job/runner.ts';
import type { ResolvedJob, WorkAnswer } from '../../agent/protocol.ts';
import type { Logger } from '../logger.ts';
import type { SecretBox } from '../secrets.ts';
import type {
  AgentJobResult,
  AgentJobRow,
  AgentRequirements,
  AgentRow,
  JobRow,
  RunRow,
  StageRow,
  Store,
} from '../store/store.ts';
import { canRun, type LocalAgentMode, runsLocally, waitingReason } from './matching.ts';
import type { AgentRegistry } from './registry.ts';

/** What dispatch reports (see `metrics.ts`). */
export interface DispatchMetrics {
  /** A job waited this long from being queued to an agent taking it. */
  jobWaited(seconds: number): void;
}

/** Options of the dispatch. */
export interface DispatchOptions {
  store: Store;
  box: SecretBox;
  registry: AgentRegistry;
  localMode: LocalAgentMode;
  timeoutMs: number;
  logger: Logger;
  metrics?: DispatchMetrics;
  /** How often a waiting instance reads the store (another instance may have got the news). */
  pollMs?: number;
}

/** A job's end from an agent. */
export interface RemoteOutcome extends JobOutcome {
  cancelled: boolean;
}

/**
 * Jobs on agents: queued with their resolved spec sealed, given to the first matching idle agent
 * that asks (atomically, so once across instances), their logs and results taken in, cancels
 * passed on, and jobs of a silent agent failed. The instance advancing the run waits on the
 * store, so it learns a job's end whichever instance the agent reported it to.
 */
export class AgentDispatch {
  private readonly events = new EventEmitter();
  private readonly secrets = new Map<number, (text: string) => string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting = new Set<number>();
  private watching = false;
  private stopped = false;
  /** After a (re)start, agents get a whole timeout to come back before their jobs fail. */
  private readonly startedAt = Date.now();

  constructor(private readonly options: DispatchOptions) {
    this.events.setMaxListeners(0);
  }

  /** Starts failing the jobs of silent agents. */
  start(): void {
    const every = Math.max(200, Math.min(2000, Math.floor(this.options.timeoutMs / 4)));
    this.timer = setInterval(() => void this.expire(), every);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.events.emit('stop');
  }

  /** Whether the built-in local agent runs a job with these needs. */
  async runsLocally(needs: AgentRequirements): Promise<boolean> {
    const mode = this.options.localMode;
    if (mode === 'off' || needs.resources.length > 0 || needs.environment !== null)
      return runsLocally(mode, [], needs);
    return runsLocally(mode, await this.options.store.listAgents(), needs);
  }

  /**
   * Queues a job for agents and waits for its end. A cancel (the signal) is passed on and its end
   * still awaited (the agent runs the `onCancel` tasks); a stop answers undefined at once, the job
   * staying with its agent (the next start of the server waits for it again).
   */
  async run(
    where: { run: RunRow; stage: StageRow; job: JobRow; needs: AgentRequirements },
    spec: ResolvedJob,
    signal: AbortSignal,
    stopping: () => boolean,
  ): Promise<{ id: number; outcome: Promise<RemoteOutcome | undefined> }> {
    const id = await this.options.store.enqueueAgentJob({
      jobId: where.job.id,
      runId: where.run.id,
      pipeline: where.run.pipeline,
      counter: where.run.counter,
      stage: where.stage.name,
      job: where.job.name,
      resources: where.needs.resources,
      environment: where.needs.environment,
      sealedSpec: this.options.box.seal(JSON.stringify(spec)),
      scheduledAt: Date.now(),
    });
    this.events.emit('queued');
    return { id, outcome: this.wait(id, signal, stopping) };
  }

  /** Waits for an attempt's end (read from the store), passing a cancel on. */
  async wait(
    id: number,
    signal: AbortSignal,
    stopping: () => boolean,
  ): Promise<RemoteOutcome | undefined> {
    let cancelSent = false;
    this.waiting.add(id);
    this.watch();
    try {
      for (;;) {
        if (signal.aborted && stopping()) return undefined;
        if (signal.aborted && !cancelSent) {
          cancelSent = true;
          await this.options.store.cancelAgentJob(id, Date.now());
        }
        const row = await this.options.store.getAgentJob(id);
        if (!row)
          return {
            passed: false,
            exitCode: null,
            error: 'the job left the agents’ queue',
            cancelled: false,
          };
        if (row.state === 'done' && row.result) {
          this.secrets.delete(id);
          return { ...row.result, cancelled: Boolean(row.result.cancelled) || cancelSent };
        }
        // Woken by `watch` (or a report to this instance); the timer is only a safety net.
        await this.nap(`done:${id}`, 20 * (this.options.pollMs ?? 250), signal);
      }
    } finally {
      this.waiting.delete(id);
    }
  }

  /**
   * While jobs are awaited, one query every `pollMs` finds which of them ended (whichever
   * instance got the news), however many there are.
   */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const pollMs = this.options.pollMs ?? 250;
    const tick = async () => {
      try {
        const open = new Set((await this.options.store.openAgentJobs()).map((j) => j.id));
        for (const id of this.waiting) if (!open.has(id)) this.events.emit(`done:${id}`);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'cannot read the jobs on agents; trying again');
      }
      if (this.waiting.size === 0 || this.stopped) {
        this.watching = false;
        return;
      }
      setTimeout(() => void tick(), pollMs).unref();
    };
    setTimeout(() => void tick(), pollMs).unref();
  }

  /**
   * An agent asks for work: the oldest queued job it can run, or undefined after `waitMs` (a
   * long poll; queued jobs on this instance wake it at once, others are found within `pollMs`).
   */
  async claim(
    agent: AgentRow,
    waitMs: number,
    closed: AbortSignal,
  ): Promise<WorkAnswer | undefined> {
    const deadline = Date.now() + waitMs;
    const pollMs = this.options.pollMs ?? 250;
    while (!closed.aborted && !this.stopped && Date.now() < deadline) {
      const fresh = await this.options.store.getAgent(agent.id);
      if (!fresh || fresh.draining) return undefined;
      if (fresh.state === 'enabled') {
        const row = await this.options.store.claimAgentJob(fresh.id, Date.now(), (job) =>
          canRun(fresh, job),
        );
        if (row) return this.work(row);
      }
      await this.nap('queued', Math.min(pollMs * 4, deadline - Date.now()), closed);
    }
    return undefined;
  }

  private work(row: AgentJobRow): WorkAnswer {
    this.options.metrics?.jobWaited(((row.startedAt ?? row.scheduledAt) - row.scheduledAt) / 1000);
    this.options.logger.info(
      {
        pipeline: row.pipeline,
        counter: row.counter,
        stage: row.stage,
        job: row.job,
        agent: row.agentId,
      },
      'job given to an agent',
    );
    return {
      id: row.id,
      pipeline: row.pipeline,
      counter: row.counter,
      stage: row.stage,
      job: row.job,
      spec: JSON.parse(this.options.box.open(row.sealedSpec)) as ResolvedJob,
    };
  }

  /** An agent's heartbeat: written with its jobs'; answers the cancels for it. */
  async heartbeat(
    agent: AgentRow,
    seen: { resources: string[]; version: string; draining: boolean; jobs?: number[] },
  ) {
    const beat = await this.options.store.agentHeartbeat(agent.id, Date.now(), seen);
    if (beat.agent && seen.draining && !agent.draining)
      this.options.registry.announce({ kind: 'draining', agent: beat.agent });
    return beat;
  }

  /** An attempt of this agent (404 otherwise). */
  async attemptOf(agent: AgentRow, id: number): Promise<AgentJobRow | undefined> {
    const row = await this.options.store.getAgentJob(id);
    return row && row.agentId === agent.id ? row : undefined;
  }

  /** A log chunk: masked again here (the agent masked it already), stored once. */
  async log(row: AgentJobRow, offset: number, text: string, given?: number): Promise<number> {
    let mask = this.secrets.get(row.id);
    if (!mask) {
      const spec = JSON.parse(this.options.box.open(row.sealedSpec)) as ResolvedJob;
      mask = masker(spec.secrets);
      this.secrets.set(row.id, mask);
    }
    // The offset counts the agent's bytes (bytes that are not UTF-8 arrive as U+FFFD, longer):
    // stored text is masked, and a NUL, which PostgreSQL's text refuses, is stored as U+FFFD.
    const bytes = given ?? Buffer.byteLength(text);
    return this.options.store.appendAgentLog(
      row.id,
      offset,
      mask(text).replaceAll('\u0000', '\uFFFD'),
      bytes,
    );
  }

  /** An attempt's end as its agent reports it (a second report changes nothing). */
  async result(agent: AgentRow, id: number, result: AgentJobResult): Promise<boolean> {
    const recorded = await this.options.store.finishAgentJob(id, agent.id, result, Date.now());
    // The log is complete (the agent sends it before its result): its masker is not needed here.
    this.secrets.delete(id);
    this.events.emit(`done:${id}`);
    return recorded;
  }

  /** Attempts whose agent fell silent end failed, with the reason; never run again. */
  async expire(): Promise<void> {
    const { store, timeoutMs, logger, registry } = this.options;
    const now = Date.now();
    if (now < this.startedAt + timeoutMs) return;
    try {
      const ended = await store.expireAgentJobs(now - timeoutMs, now, (agent) =>
        agent
          ? `agent ${agent.hostname} (${agent.id}) sent no heartbeat for ${Math.round(timeoutMs / 1000)} s while running this job; it is not run again: re-run the stage`
          : 'the agent running this job was removed; it is not run again: re-run the stage',
      );
      for (const row of ended) {
        logger.warn(
          { pipeline: row.pipeline, counter: row.counter, job: row.job, agent: row.agentId },
          'agent lost mid-job: job failed',
        );
        this.secrets.delete(row.id);
        this.events.emit(`done:${row.id}`);
        const agent = row.agentId ? await store.getAgent(row.agentId) : undefined;
        if (agent) registry.announce({ kind: 'lost', agent });
      }
    } catch (error) {
      logger.error({ err: error }, 'cannot expire the jobs of silent agents');
    }
  }

  /**
   * The jobs of a taken-over run that agents hold: the newest attempt of a job still to end,
   * queued since its stage started (an attempt of an earlier run of the stage is not its).
   */
  async held(run: RunRow): Promise<Map<number, AgentJobRow>> {
    const building = run.stages.filter((s) => s.status === 'building');
    const jobs = building.flatMap((s) =>
      s.jobs
        .filter((j) => j.status === 'building' || j.status === 'scheduled')
        .map((j) => ({ j, s })),
    );
    if (jobs.length === 0) return new Map();
    const latest = await this.options.store.latestAgentJobs(jobs.map(({ j }) => j.id));
    const held = new Map<number, AgentJobRow>();
    for (const { j, s } of jobs) {
      const row = latest.find((r) => r.jobId === j.id);
      const since = s.startedAt ? Date.parse(s.startedAt) - 1000 : 0;
      if (row && row.scheduledAt >= since) held.set(j.id, row);
    }
    return held;
  }

  /** Why each queued job of these runs waits, by job id (none: an agent will take it soon). */
  async waitingFor(runs: readonly RunRow[]): Promise<Map<number, string>> {
    const reasons = new Map<number, string>();
    const ids = runs.flatMap((r) =>
      r.stages.flatMap((s) => s.jobs.filter((j) => j.status === 'scheduled').map((j) => j.id)),
    );
    if (ids.length === 0) return reasons;
    const queued = (await this.options.store.latestAgentJobs(ids)).filter(
      (r) => r.state === 'scheduled',
    );
    if (queued.length === 0) return reasons;
    const [agents, open] = await Promise.all([
      this.options.store.listAgents(),
      this.options.store.openAgentJobs(),
    ]);
    const seen = agents.map((a) => ({
      ...a,
      busy: open.some((j) => j.agentId === a.id && j.state === 'running'),
      lost: this.options.registry.lost(a) || a.draining,
    }));
    for (const row of queued) {
      const reason = waitingReason(seen, row);
      if (reason) reasons.set(row.jobId, reason);
    }
    return reasons;
  }

  /** The log of a job's newest attempt on an agent, or undefined when it never went to one. */
  async logOf(jobId: number): Promise<string | undefined> {
    const [row] = await this.options.store.latestAgentJobs([jobId]);
    return row ? this.options.store.agentLog(row.id) : undefined;
  }

  /** Waits for `event`, at most `ms`, or until `signal` aborts or dispatch stops. */
  private nap(event: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off(event, done);
        this.events.off('stop', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.events.once(event, done);
      this.events.once('stop', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
