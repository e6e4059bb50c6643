import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from 'hoist';
import { processStart } from '../agent/process-group.ts';

/** What `serve.lock` holds: the serving process and when it started (safe from PID reuse). */
interface LockOwner {
  pid: number;
  start: string | undefined;
}

/**
 * Claims a data folder whose store is SQLite for this process: one SQLite store serves one
 * instance, and a second server on it would take the first one's running jobs for orphans and
 * stop them. A lock left by a process that no longer runs is taken over. Returns the release.
 */
export function claimDataFolder(dataDir: string): () => void {
  const file = join(dataDir, 'serve.lock');
  const me: LockOwner = { pid: process.pid, start: processStart(process.pid) };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        if (sameOwner(readOwner(file), me)) unlinkQuietly(file);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (owner && owner.pid !== process.pid && alive(owner)) {
      throw new ConflictError(
        `another hoist serve (pid ${owner.pid}) uses the data folder ${dataDir}; stop it first, or give each instance its own data folder and one PostgreSQL database (--database)`,
      );
    }
    unlinkQuietly(file);
  }
  throw new ConflictError(`cannot claim the data folder ${dataDir} (${file} keeps coming back)`);
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof value.pid === 'number'
      ? { pid: value.pid, start: typeof value.start === 'string' ? value.start : undefined }
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(owner: LockOwner): boolean {
  const start = processStart(owner.pid);
  return start !== undefined && (owner.start === undefined || start === owner.start);
}

function sameOwner(a: LockOwner | undefined, b: LockOwner): boolean {
  return a?.pid === b.pid && a.start === b.start;
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}
