import type { ChildProcess } from 'node:child_process';

/**
 * Kills a child started with `detached: true` together with everything it started: jobs and
 * plugins may spawn their own children, which must not outlive a timeout or a cancel.
 */
export function killProcessGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
