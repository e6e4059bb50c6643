import type { Role } from '../config/schema.ts';
import { type EventType, type HoistEvent, PRIVILEGED_TYPES } from './model.ts';
import { typeMatches } from './patterns.ts';

export { typeMatches, unknownPatterns } from './patterns.ts';

/**
 * Which events a reader gets (pure): by role (notification events are for operators and
 * admins), by type pattern (`stage.*`, `run.created`, `*`) and by pipeline.
 */

/** May a token of `role` see events of `type`? */
export function roleSees(role: Role, type: EventType): boolean {
  return role !== 'viewer' || !PRIVILEGED_TYPES.has(type);
}

/** A reader's choice of events. */
export interface EventFilter {
  role: Role;
  /** Type patterns; none: every type. */
  types?: readonly string[];
  pipeline?: string;
}

/** Does the reader get this event? */
export function matches(filter: EventFilter, event: HoistEvent): boolean {
  if (!roleSees(filter.role, event.type)) return false;
  if (filter.pipeline !== undefined && event.pipeline !== filter.pipeline) return false;
  const types = filter.types ?? [];
  return types.length === 0 || types.some((p) => typeMatches(p, event.type));
}

/** `a,b c` as a list of patterns (commas or spaces), or undefined for none. */
export function parsePatterns(text: string | undefined): string[] | undefined {
  const list = (text ?? '').split(/[\s,]+/).filter(Boolean);
  return list.length > 0 ? list : undefined;
}
