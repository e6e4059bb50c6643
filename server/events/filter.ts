import type { Role } from '../config/schema.ts';
import { EVENT_TYPES, type EventType, type HoistEvent, PRIVILEGED_TYPES } from './model.ts';

/**
 * Which events a reader gets (pure): by role (notification events are for operators and
 * admins), by type pattern (`stage.*`, `run.created`, `*`) and by pipeline.
 */

/** Does `type` match a pattern: a type, `prefix.*`, or `*`? */
export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  return pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1));
}

/** The patterns that match no event type (to refuse them with their name). */
export function unknownPatterns(patterns: readonly string[]): string[] {
  return patterns.filter((p) => !EVENT_TYPES.some((type) => typeMatches(p, type)));
}

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
