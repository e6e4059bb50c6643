import type { Configuration } from 'hoist';

/** Longest back-off between failed checks. */
export const MAX_BACKOFF_MS = 3_600_000;

/**
 * Delay before the next try after `failures` failures in a row: the interval doubled per
 * failure, capped at an hour, and never shorter than what the repository asked for.
 */
export function backoffDelay(intervalMs: number, failures: number, retryAfterMs?: number): number {
  const exponential = Math.min(intervalMs * 2 ** Math.min(failures, 16), MAX_BACKOFF_MS);
  return Math.max(exponential, Math.min(retryAfterMs ?? 0, 24 * MAX_BACKOFF_MS));
}

/** The interval ±10 %, so that materials added together do not poll in lockstep. */
export function withJitter(intervalMs: number, random = Math.random): number {
  return Math.round(intervalMs * (0.9 + random() * 0.2));
}

/** The host a material's checks go to, for per-host limits (`file` for local repositories). */
export function hostKey(config: Configuration): string {
  for (const key of ['REPO_URL', 'METALINK', 'MIRRORLIST', 'URL']) {
    const value = config[key];
    if (!value) continue;
    try {
      const url = new URL(value);
      return url.protocol === 'file:' ? 'file' : url.host;
    } catch {
      // Not a URL: fall through.
    }
  }
  return 'default';
}
