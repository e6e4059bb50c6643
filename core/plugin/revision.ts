import { escapeEnvName } from './environment.ts';
import { DATA_KEY } from './types.ts';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;
const OPTIONAL_STRINGS = ['user', 'comment', 'trackbackUrl'] as const;
const KNOWN = new Set(['revision', 'timestamp', 'data', ...OPTIONAL_STRINGS]);

/**
 * What is wrong with a value that should be a `Revision`, as `path: problem`, or undefined
 * when it is one. Hand-written rather than a zod schema: it runs on every poll, and keeping zod
 * off that path keeps `hoist check` quick to start.
 */
export function revisionProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'a revision must be an object';
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!KNOWN.has(key)) return `${key}: unknown field`;
  }
  if (typeof r.revision !== 'string' || r.revision === '') {
    return 'revision: revision must be a non-empty string';
  }
  if (
    typeof r.timestamp !== 'string' ||
    !ISO_DATE_TIME.test(r.timestamp) ||
    Number.isNaN(Date.parse(r.timestamp))
  ) {
    return 'timestamp: timestamp must be an ISO-8601 date-time';
  }
  for (const key of OPTIONAL_STRINGS) {
    if (r[key] !== undefined && typeof r[key] !== 'string') return `${key}: must be a string`;
  }
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) {
    return 'data: data must be an object of strings';
  }
  const envNames = new Map<string, string>();
  for (const [key, item] of Object.entries(r.data)) {
    if (!DATA_KEY.test(key))
      return `data.${key}: data keys may contain only letters, digits, '_' and '-'`;
    if (typeof item !== 'string') return `data.${key}: data values must be strings`;
    const other = envNames.get(escapeEnvName(key));
    if (other !== undefined)
      return `data.${key}: data keys '${other}' and '${key}' would be the same job variable (${escapeEnvName(key)})`;
    envNames.set(escapeEnvName(key), key);
  }
  return undefined;
}
