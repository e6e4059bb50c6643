import { ForbiddenError } from 'hoist';
import type { StageConfig } from './definition.ts';

/** Who asks (for approvals and manual runs). */
export interface Actor {
  name: string;
  groups?: string[];
  admin?: boolean;
}

/**
 * May `actor` open this manual stage? Every action that opens one asks: approving it,
 * scheduling a pipeline whose first stage it is (triggering is the approval), re-running it.
 * Only the stage's approvers (token names or groups) and admins may, when it names approvers;
 * an auto stage, or a manual one that names none, is open to every operator.
 * @throws ForbiddenError naming the approvers.
 */
export function requireApprover(
  stage: StageConfig | undefined,
  actor: Actor,
  pipeline: string,
  action: 'approve' | 'run' | 're-run' = 'approve',
): void {
  if (stage?.approval !== 'manual') return;
  const approvers = stage.approvers ?? [];
  if (approvers.length === 0 || actor.admin) return;
  if (approvers.includes(actor.name)) return;
  if ((actor.groups ?? []).some((g) => approvers.includes(g))) return;
  throw new ForbiddenError(
    `only ${approvers.join(', ')} may ${action} stage '${stage.name}' of ${pipeline}`,
  );
}
