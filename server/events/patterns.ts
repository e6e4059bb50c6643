import { EVENT_TYPES } from '../api/schemas/events.ts';

/** Event type patterns (pure): `run.created`, `stage.*`, `*`. */

/** Does `type` match a pattern: a type, `prefix.*`, or `*`? */
export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  return pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1));
}

/** The patterns that match no event type (to refuse them with their name). */
export function unknownPatterns(patterns: readonly string[]): string[] {
  return patterns.filter((p) => !EVENT_TYPES.some((type) => typeMatches(p, type)));
}
