import { type HoistError, RepositoryUnreachableError } from 'hoist';
import type { CheckRow } from '../store/store.ts';
import { backoffDelay, withJitter } from './timing.ts';

/** What a check found, as the poller decides on it. */
export interface CheckFindings {
  /** The error of the check, if it failed. */
  failure: HoistError | undefined;
  /** Revisions the plugin reported (new to the material). */
  revisions: readonly { revision: string }[];
  /** The newest stored revision before the check, if any. */
  latest: { revision: string } | undefined;
  /** Milliseconds between checks; null when checked on demand only. */
  intervalMs: number | null;
  /** Failures in a row before this check. */
  failures: number;
}

/** What the poller records and does after a check. */
export interface CheckDecision {
  outcome: CheckRow['outcome'];
  /** When the material is due again (epoch ms), or null for on demand only. */
  nextAt: number | null;
  failures: number;
  /** One line, for people asking "why did my pipeline not run?". */
  decision: string;
}

/**
 * Decides on a finished check: a success resets the failures and comes back after the interval
 * (with jitter); a failure backs off exponentially, never sooner than the repository's
 * `Retry-After`, and is said so in the decision.
 */
export function decide(
  findings: CheckFindings,
  now: number,
  random: () => number = Math.random,
): CheckDecision {
  const { failure, revisions, latest, intervalMs } = findings;
  if (failure) {
    const failures = findings.failures + 1;
    const retryAfter =
      failure instanceof RepositoryUnreachableError ? failure.retryAfterMs : undefined;
    const delay = backoffDelay(intervalMs ?? 60_000, failures, retryAfter);
    const when =
      intervalMs === null
        ? 'not polled: check again on demand'
        : `retrying in ${formatDelay(delay)}`;
    return {
      outcome: 'error',
      nextAt: intervalMs === null ? null : now + delay,
      failures,
      decision: `failed (${failure.code}); ${when}${failures > 1 ? ` after ${failures} failures in a row` : ''}${retryAfter ? ' (as the repository asked)' : ''}`,
    };
  }
  const outcome: CheckRow['outcome'] =
    revisions.length > 0 ? 'new' : latest ? 'unchanged' : 'nothing';
  const decision =
    outcome === 'new'
      ? `stored ${revisions.length} new revision${revisions.length === 1 ? '' : 's'}: ${revisions.map((r) => r.revision).join(', ')}`
      : outcome === 'unchanged'
        ? `nothing newer than ${latest?.revision}`
        : 'no package matches yet';
  return {
    outcome,
    nextAt: intervalMs === null ? null : now + withJitter(intervalMs, random),
    failures: 0,
    decision,
  };
}

/** `1.5s`, `2.5m`, `1h`. */
export function formatDelay(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10}h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10}m`;
  return `${Math.round(ms / 100) / 10}s`;
}
