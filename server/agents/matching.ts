import type { AgentRequirements, AgentRow } from '../store/store.ts';

/**
 * Which agent may run which job, as pure rules: an enabled agent that has every resource the job
 * needs and, when the job's pipeline has an environment, is in it; a pipeline without one runs
 * on any agent. Whether the server's built-in local agent takes a job is `runsLocally`.
 */

/** `on`: the local agent takes every job it can; `off`: never; `auto`: while no agent is enabled. */
export type LocalAgentMode = 'on' | 'off' | 'auto';

/** Whether `agent` may ever run a job with these requirements (idle or not). */
export function canRun(
  agent: Pick<AgentRow, 'state' | 'resources' | 'environments'>,
  needs: AgentRequirements,
): boolean {
  if (agent.state !== 'enabled') return false;
  if (!needs.resources.every((r) => agent.resources.includes(r))) return false;
  return needs.environment === null || agent.environments.includes(needs.environment);
}

/**
 * Whether the built-in local agent runs the job: never a job that needs resources or belongs to
 * an environment (those are what agents are for); otherwise as the mode says.
 */
export function runsLocally(
  mode: LocalAgentMode,
  agents: readonly Pick<AgentRow, 'state'>[],
  needs: AgentRequirements,
): boolean {
  if (mode === 'off') return false;
  if (needs.resources.length > 0 || needs.environment !== null) return false;
  return mode === 'on' || !agents.some((a) => a.state === 'enabled');
}

/** Words for what a job needs: `resources rpm, linux in environment production`. */
export function describeNeeds(needs: AgentRequirements): string {
  const parts = [
    needs.resources.length > 0 ? `resources ${needs.resources.join(', ')}` : 'no resources',
    needs.environment ? `in environment ${needs.environment}` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/**
 * Why a queued job waits: no enabled agent can ever run it (said so, with what it needs), or
 * every agent that can is busy or silent. Undefined when an agent that can run it is idle.
 */
export function waitingReason(
  agents: readonly (Pick<AgentRow, 'state' | 'resources' | 'environments' | 'hostname'> & {
    busy: boolean;
    lost: boolean;
  })[],
  needs: AgentRequirements,
): string | undefined {
  const able = agents.filter((a) => canRun(a, needs));
  if (able.length === 0) {
    const pending = agents.filter(
      (a) => a.state !== 'enabled' && canRun({ ...a, state: 'enabled' }, needs),
    );
    const hint =
      pending.length > 0
        ? `; ${pending.map((a) => `${a.hostname} (${a.state})`).join(', ')} could once enabled`
        : '';
    return `no enabled agent can run this job: it needs ${describeNeeds(needs)}${hint}`;
  }
  if (able.some((a) => !a.busy && !a.lost)) return undefined;
  return `waiting for an idle agent with ${describeNeeds(needs)} (${able.length} can run it, all busy or not connected)`;
}
