import { ConfigInvalidError } from 'hoist';
import type { Logger } from '../logger.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { SecretBox } from '../secrets.ts';
import type { Store } from '../store/store.ts';
import { AgentDispatch } from './dispatch.ts';
import type { LocalAgentMode } from './matching.ts';
import { AgentRegistry, agentTimeout, loadRegistrationKey, secondsSetting } from './registry.ts';

/** The agent parts of a server, from its environment. */
export interface AgentParts {
  registry: AgentRegistry;
  dispatch: AgentDispatch;
  registrationKey: { key: string; source: string };
  longPollMs: number;
  localMode: LocalAgentMode;
}

/** `HOIST_LOCAL_AGENT` (or `--local-agent`): on, off or auto (default). */
export function localAgentMode(text: string | undefined): LocalAgentMode {
  if (text === undefined || text === '') return 'auto';
  if (text === 'on' || text === 'off' || text === 'auto') return text;
  throw new ConfigInvalidError([
    { key: 'HOIST_LOCAL_AGENT', message: `must be on, off or auto, got '${text}'` },
  ]);
}

/**
 * The registry and dispatch of agents: the registration key (`HOIST_AGENT_REGISTRATION_KEY` or
 * `<data>/agent-registration-key`), `HOIST_AGENT_AUTO_ENABLE=1`, `HOIST_AGENT_TIMEOUT` (s),
 * `HOIST_AGENT_LONG_POLL` (s, default 30) and the local agent's mode.
 */
export async function createAgentParts(options: {
  store: Store;
  box: SecretBox;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  metrics: ServerMetrics;
  localAgent?: string;
}): Promise<AgentParts> {
  const { store, env } = options;
  const registrationKey = await loadRegistrationKey(options.dataDir, env);
  const timeoutMs = agentTimeout(env);
  const localMode = localAgentMode(options.localAgent ?? env.HOIST_LOCAL_AGENT);
  const registry = new AgentRegistry({
    store,
    registrationKey: registrationKey.key,
    autoEnable: env.HOIST_AGENT_AUTO_ENABLE === '1',
    timeoutMs,
  });
  const dispatch = new AgentDispatch({
    store,
    box: options.box,
    registry,
    localMode,
    timeoutMs,
    logger: options.logger,
    metrics: options.metrics,
  });
  options.metrics.countAgents(async () => {
    const counts: Record<string, number> = {};
    for (const agent of await registry.list()) {
      const state = agent.state === 'enabled' ? agent.status : agent.state;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  });
  const longPollMs = secondsSetting(env, 'HOIST_AGENT_LONG_POLL', 30);
  return { registry, dispatch, registrationKey, longPollMs, localMode };
}
