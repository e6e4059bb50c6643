/** When a failed delivery is tried again (pure): exponential back-off, capped, a few attempts. */

/** The retry settings: `HOIST_WEBHOOK_ATTEMPTS`, `HOIST_WEBHOOK_BACKOFF_MS`, `HOIST_WEBHOOK_BACKOFF_MAX_MS`. */
export interface RetryPolicy {
  /** Attempts in all, the first included; default 5. */
  attempts: number;
  /** Wait after the first failure; doubled after each; default 10 s. */
  baseMs: number;
  /** The longest wait; default 10 minutes. */
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 10_000, capMs: 600_000 };

/** The policy from the environment, defaults for what is unset or not a positive number. */
export function retryPolicy(env: Record<string, string | undefined>): RetryPolicy {
  const read = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
  };
  return {
    attempts: read('HOIST_WEBHOOK_ATTEMPTS', DEFAULT_RETRY.attempts),
    baseMs: read('HOIST_WEBHOOK_BACKOFF_MS', DEFAULT_RETRY.baseMs),
    capMs: read('HOIST_WEBHOOK_BACKOFF_MAX_MS', DEFAULT_RETRY.capMs),
  };
}

/** After `attempts` failed attempts: how long until the next, or undefined when it gives up. */
export function retryDelay(policy: RetryPolicy, attempts: number): number | undefined {
  if (attempts >= policy.attempts) return undefined;
  return Math.min(policy.capMs, policy.baseMs * 2 ** (attempts - 1));
}
