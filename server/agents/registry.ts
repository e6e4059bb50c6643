import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigInvalidError, NotFoundError, UnauthenticatedError } from 'hoist';
import type { AgentJobRow, AgentRow, AgentState, Store } from '../store/store.ts';

/** What changed of an agent (the one place agents' changes are announced: events listen here). */
export interface AgentChange {
  kind: 'registered' | 'changed' | 'removed' | 'lost' | 'draining';
  agent: AgentRow;
}

/** An agent as the API shows it. */
export interface AgentView {
  id: string;
  hostname: string;
  state: AgentState;
  /** What it does now: `lost` when silent for longer than the agent timeout. */
  status: 'idle' | 'building' | 'draining' | 'lost';
  resources: string[];
  environments: string[];
  version: string;
  registeredAt: string;
  lastHeartbeat: string | null;
  currentJob: { id: number; pipeline: string; counter: number; stage: string; job: string } | null;
}

/** Options of the registry. */
export interface RegistryOptions {
  store: Store;
  registrationKey: string;
  autoEnable: boolean;
  /** An agent silent this long is lost (its job fails). */
  timeoutMs: number;
}

/**
 * Registered agents: registration with the key, their tokens (only a sha256 digest stored), an
 * admin's changes, and every change announced through `onAgentChange`.
 */
export class AgentRegistry {
  private readonly listeners: ((change: AgentChange) => void)[] = [];

  constructor(private readonly options: RegistryOptions) {}

  /** Told of every change of an agent's state (registered, enabled, lost, …). */
  onAgentChange(listener: (change: AgentChange) => void): void {
    this.listeners.push(listener);
  }

  /** Announces a change to the listeners. */
  announce(change: AgentChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Registers an agent presenting the registration key; answers its token (shown once). */
  async register(request: { key: string; hostname: string; resources: string[]; version: string }) {
    if (!sameSecret(request.key, this.options.registrationKey))
      throw new UnauthenticatedError('The registration key is not the server’s');
    const token = `hoa_${randomBytes(32).toString('base64url')}`;
    const agent = await this.options.store.registerAgent({
      id: randomUUID(),
      hostname: request.hostname,
      tokenDigest: digest(token),
      state: this.options.autoEnable ? 'enabled' : 'pending',
      resources: request.resources,
      version: request.version,
      now: Date.now(),
    });
    this.announce({ kind: 'registered', agent });
    return { agent, token };
  }

  /** The agent of an `Authorization: Bearer` header; 401 for anything else (user tokens too). */
  async authenticate(header: string | undefined): Promise<AgentRow> {
    const match = /^Bearer\s+(hoa_\S+)$/i.exec(header ?? '');
    const agent = match
      ? await this.options.store.agentByToken(digest(match[1] as string))
      : undefined;
    if (!agent)
      throw new UnauthenticatedError(
        'This agent token is not known: the agent was removed, or its token revoked',
      );
    return agent;
  }

  async update(id: string, patch: { state?: AgentState; environments?: string[] }) {
    const agent = await this.options.store.updateAgent(id, patch);
    if (!agent) throw new NotFoundError(`no agent '${id}'`);
    this.announce({ kind: 'changed', agent });
    return this.view(agent, await this.options.store.openAgentJobs());
  }

  async remove(id: string): Promise<void> {
    const agent = await this.options.store.getAgent(id);
    if (!agent || !(await this.options.store.removeAgent(id)))
      throw new NotFoundError(`no agent '${id}'`);
    this.announce({ kind: 'removed', agent });
  }

  async get(id: string): Promise<AgentView> {
    const agent = await this.options.store.getAgent(id);
    if (!agent) throw new NotFoundError(`no agent '${id}'`);
    return this.view(agent, await this.options.store.openAgentJobs());
  }

  async list(): Promise<AgentView[]> {
    const [agents, open] = await Promise.all([
      this.options.store.listAgents(),
      this.options.store.openAgentJobs(),
    ]);
    return agents.map((a) => this.view(a, open));
  }

  /** Whether an agent was silent for longer than the agent timeout. */
  lost(agent: AgentRow, now = Date.now()): boolean {
    return agent.heartbeatAt === null || now - agent.heartbeatAt > this.options.timeoutMs;
  }

  view(agent: AgentRow, open: readonly AgentJobRow[]): AgentView {
    const job = open.find((j) => j.agentId === agent.id && j.state === 'running');
    return {
      id: agent.id,
      hostname: agent.hostname,
      state: agent.state,
      status: this.lost(agent) ? 'lost' : agent.draining ? 'draining' : job ? 'building' : 'idle',
      resources: agent.resources,
      environments: agent.environments,
      version: agent.version,
      registeredAt: agent.registeredAt,
      lastHeartbeat: agent.heartbeatAt === null ? null : new Date(agent.heartbeatAt).toISOString(),
      currentJob: job
        ? {
            id: job.id,
            pipeline: job.pipeline,
            counter: job.counter,
            stage: job.stage,
            job: job.job,
          }
        : null,
    };
  }
}

/** The sha256 digest (hex) of a token: all the store keeps of it. */
export function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The registration key: `HOIST_AGENT_REGISTRATION_KEY` when set, else `<data>/agent-registration-key`
 * (generated at first start, mode 0600). Answers it and where it came from (never logged itself).
 */
export async function loadRegistrationKey(dataDir: string, env = process.env) {
  if (env.HOIST_AGENT_REGISTRATION_KEY)
    return { key: env.HOIST_AGENT_REGISTRATION_KEY, source: 'HOIST_AGENT_REGISTRATION_KEY' };
  const file = join(dataDir, 'agent-registration-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key) return { key, source: file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(24).toString('base64url');
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { key, source: file };
}

/** `HOIST_AGENT_TIMEOUT` (seconds, default 60) in milliseconds. */
export function agentTimeout(env: NodeJS.ProcessEnv): number {
  return secondsSetting(env, 'HOIST_AGENT_TIMEOUT', 60);
}

/** A positive number of seconds from the environment, in milliseconds. */
export function secondsSetting(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const text = env[key];
  if (text === undefined || text === '') return fallback * 1000;
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 86_400))
    throw new ConfigInvalidError([
      { key, message: `must be a number of seconds from more than 0 to 86400, got '${text}'` },
    ]);
  return Math.round(seconds * 1000);
}
