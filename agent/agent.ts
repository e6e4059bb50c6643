import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError, UnauthenticatedError } from 'hoist';
import { Attempts } from './attempts.ts';
import { ServerClient, ServerUnavailableError, TokenRefusedError } from './client.ts';
import { createHttpClient } from './http/http-client.ts';
import { runJob } from './job/runner.ts';
import { LogUploader } from './log-uploader.ts';
import { processStart, stopProcessGroup } from './process-group.ts';
import type {
  HeartbeatAnswer,
  HeartbeatRequest,
  RegisterAnswer,
  ResultRequest,
  WorkAnswer,
} from './protocol.ts';

/** Options of `hoist agent`. */
export interface AgentOptions {
  server: string;
  caFile?: string;
  resources: string[];
  dataDir: string;
  /** The registration key (from `--registration-key-file` or `HOIST_AGENT_REGISTRATION_KEY`). */
  registrationKey?: string;
  version: string;
  /** Between heartbeats; default 5 s. */
  heartbeatMs?: number;
  /** The longest wait between two attempts to reach the server; default 30 s. */
  maxBackoffMs?: number;
  /** One line for the operator. */
  say: (line: string) => void;
}

/** The running job: its attempt id and how to cancel it. */
interface Current {
  id: number;
  controller: AbortController;
}

/**
 * `hoist agent`: registers once (the token kept in `<data>/agent-token`, mode 0600), then asks
 * the server for work, runs each job with the same code as the server's local agent, streams its
 * masked log and reports its end. Heartbeats carry cancels back. It keeps a job running when it
 * loses the server and reports it once back; SIGTERM (`drain`) lets the job finish, then it exits.
 */
export class HoistAgent {
  private readonly client: ServerClient;
  private readonly attempts: Attempts;
  private draining = false;
  private current: Current | undefined;
  /** Attempts that ended here and whose report the server does not have yet. */
  private readonly reporting = new Set<number>();
  private readonly poll = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private refused: string | undefined;

  constructor(private readonly options: AgentOptions) {
    this.client = new ServerClient({ server: options.server, caFile: options.caFile });
    this.attempts = new Attempts(options.dataDir);
  }

  /** Runs until drained (resolves 0) or the token is refused (resolves 1). */
  async run(): Promise<number> {
    mkdirSync(this.options.dataDir, { recursive: true, mode: 0o700 });
    try {
      this.client.token = await this.token();
      if (!this.client.token) {
        await this.client.close();
        this.options.say('hoist agent: stopped before it could register');
        return 0;
      }
      this.beatEvery();
      await this.reportUnfinished();
      while (!this.draining && !this.refused) {
        const work = await this.retrying(() =>
          this.client.post<WorkAnswer>(
            '/api/agent/work',
            {},
            {
              signal: this.poll.signal,
              timeoutMs: 120_000,
            },
          ),
        );
        if (work) await this.runOne(work);
      }
    } catch (error) {
      if (!(error instanceof TokenRefusedError)) throw error;
      this.refused = error.message;
    } finally {
      clearInterval(this.heartbeat);
    }
    if (this.refused) {
      this.options.say(
        `hoist agent: the server refused this agent's token (${this.refused}); register it again with a new data folder`,
      );
      await this.client.close();
      return 1;
    }
    await this.beat().catch(() => {});
    await this.client.close();
    this.options.say('hoist agent: drained; exiting');
    return 0;
  }

  /** The agent's id, as the server named it at registration. */
  private id(): string {
    try {
      return readFileSync(join(this.options.dataDir, 'agent-id'), 'utf8').trim();
    } catch {
      return '';
    }
  }

  /** SIGTERM: no more work; the running job finishes and is reported first. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.options.say(
      this.current
        ? `hoist agent: draining: job ${this.current.id} finishes first`
        : 'hoist agent: draining',
    );
    this.poll.abort();
    void this.beat().catch(() => {});
  }

  /** The agent's token: kept from its registration, or registered now with the key. */
  private async token(): Promise<string> {
    const file = join(this.options.dataDir, 'agent-token');
    try {
      const token = readFileSync(file, 'utf8').trim();
      if (token) return token;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const key = this.options.registrationKey;
    if (!key)
      throw new ConfigInvalidError([
        {
          key: '',
          message:
            'this agent is not registered: give the server’s registration key (HOIST_AGENT_REGISTRATION_KEY or --registration-key-file)',
        },
      ]);
    const answer = await this.retrying(() =>
      this.client.post<RegisterAnswer>('/api/agent/register', {
        key,
        hostname: hostname(),
        resources: this.options.resources,
        version: this.options.version,
      }),
    ).catch((error: unknown) => {
      if (error instanceof TokenRefusedError)
        throw new UnauthenticatedError(`the server refused the registration key: ${error.message}`);
      throw error;
    });
    // Stopped (SIGTERM) while the server could not be reached: nothing registered.
    if (!answer && this.draining) return '';
    if (!answer) throw new Error('the server answered the registration with no body');
    writeFileSync(file, `${answer.token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    writeFileSync(join(this.options.dataDir, 'agent-id'), `${answer.id}\n`, { mode: 0o600 });
    this.options.say(
      `hoist agent: registered as ${answer.id} (${answer.state}${answer.state === 'pending' ? ': an admin enables it with hoist agents enable' : ''})`,
    );
    return answer.token;
  }

  private beatEvery(): void {
    this.heartbeat = setInterval(
      () => void this.beat().catch((error) => this.onBeatError(error)),
      this.options.heartbeatMs ?? 5000,
    );
  }

  private onBeatError(error: unknown): void {
    if (error instanceof TokenRefusedError) {
      this.refused = error.message;
      this.poll.abort();
    }
  }

  /** One heartbeat; a cancel it brings stops the running job. */
  private async beat(): Promise<void> {
    const held = [...this.reporting];
    if (this.current) held.push(this.current.id);
    const answer = await this.client.post<HeartbeatAnswer>('/api/agent/heartbeat', {
      resources: this.options.resources,
      version: this.options.version,
      draining: this.draining,
      jobs: held,
    } satisfies HeartbeatRequest);
    const current = this.current;
    if (current && answer?.cancel.includes(current.id) && !current.controller.signal.aborted) {
      this.options.say(`hoist agent: job ${current.id} cancelled by the server`);
      current.controller.abort();
    }
  }

  /** Runs one job, then reports it (kept on disk until the server has it). */
  private async runOne(work: WorkAnswer): Promise<void> {
    const { say, dataDir } = this.options;
    say(`hoist agent: job ${work.id}: ${work.pipeline}/${work.counter} ${work.stage}/${work.job}`);
    this.attempts.begin(work);
    const controller = new AbortController();
    this.current = { id: work.id, controller };
    const logFile = this.attempts.logFile(work.id);
    const uploader = new LogUploader(this.client, work.id, logFile);
    let streaming = Promise.resolve();
    const stream = setInterval(() => {
      streaming = streaming.then(() => uploader.push().catch(() => {}));
    }, 300);
    // A job with fetch tasks downloads with a client of its own, bounded by the job's time limit.
    const http = work.spec.tasks.some((task) => 'fetch' in task)
      ? createHttpClient({ transferTimeoutMs: work.spec.timeoutMs })
      : undefined;
    let result: ResultRequest;
    try {
      const outcome = await runJob(
        {
          ...work.spec,
          ...(http ? { http } : {}),
          env: {
            // The agent's own PATH, HOME and LANG, unless the job's variables set them.
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: process.env.HOME ?? '/',
            LANG: process.env.LANG ?? 'C.UTF-8',
            ...work.spec.env,
            HOIST_AGENT_ID: this.id(),
            HOIST_AGENT_HOSTNAME: hostname(),
          },
          cwd: join(dataDir, 'work', work.pipeline, String(work.counter), work.stage, work.job),
          logFile,
          onSpawn: (pid) => {
            const start = processStart(pid);
            if (start) this.attempts.process(work.id, pid, start);
          },
        },
        controller.signal,
      );
      result = { ...outcome, cancelled: controller.signal.aborted };
    } finally {
      clearInterval(stream);
      this.current = undefined;
      await http?.close();
    }
    this.attempts.end(work.id, result);
    await streaming;
    await this.report(work.id, uploader, result);
    say(
      `hoist agent: job ${work.id} ${result.cancelled ? 'cancelled' : result.passed ? 'passed' : `failed: ${result.error}`}`,
    );
  }

  /** The rest of the log, then the result, retried until the server has them. */
  private async report(id: number, uploader: LogUploader, result: ResultRequest): Promise<void> {
    // Held (named in heartbeats) until reported, so the server keeps waiting for it.
    this.reporting.add(id);
    try {
      await this.retrying(() => uploader.push(true), true);
      await this.retrying(() => this.client.post(`/api/agent/jobs/${id}/result`, result), true);
    } catch (error) {
      if (error instanceof TokenRefusedError || error instanceof ServerUnavailableError)
        throw error;
      // The server no longer knows the job (its agent was removed, or it was not this agent's).
      this.options.say(
        `hoist agent: job ${id}: the server refused its report: ${(error as Error).message}`,
      );
    } finally {
      this.reporting.delete(id);
    }
    this.attempts.forget(id);
  }

  /**
   * Jobs of an earlier run of this agent the server has not heard the end of: reported now. A
   * job the agent was stopped in the middle of is reported failed (its processes stopped first).
   */
  private async reportUnfinished(): Promise<void> {
    for (const attempt of this.attempts.unfinished()) {
      let result = attempt.result;
      if (!result) {
        if (attempt.process) await stopProcessGroup(attempt.process).catch(() => 'gone');
        result = {
          passed: false,
          exitCode: null,
          error:
            'the agent was stopped while running this job (its processes were stopped); re-run the stage',
          cancelled: false,
        };
        this.attempts.end(attempt.id, result);
      }
      const uploader = new LogUploader(this.client, attempt.id, this.attempts.logFile(attempt.id));
      await this.report(attempt.id, uploader, result);
    }
  }

  /**
   * Calls `fn` until the server answers: no answer (the server restarting, the network down) is
   * tried again with exponential back-off up to `maxBackoffMs`. While draining it gives up,
   * unless `always` (a result must reach the server).
   */
  private async retrying<T>(fn: () => Promise<T>, always = false): Promise<T | undefined> {
    let wait = 200;
    let said = false;
    for (;;) {
      try {
        const answer = await fn();
        if (said) this.options.say('hoist agent: the server answers again');
        return answer;
      } catch (error) {
        if (!(error instanceof ServerUnavailableError)) throw error;
        if (this.poll.signal.aborted && !always) return undefined;
        if (!said) this.options.say(`hoist agent: ${error.message}; trying again`);
        said = true;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, this.options.maxBackoffMs ?? 30_000);
        if (this.refused) throw new TokenRefusedError(this.refused);
      }
    }
  }
}
