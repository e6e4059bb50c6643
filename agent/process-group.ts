import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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

/** A process as `/proc/<pid>/stat` shows it. */
interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot. */
  start: number;
}

/** Parses `/proc/<pid>/stat` (the command name may hold spaces and parentheses). */
export function parseStat(text: string): Omit<ProcStat, 'pid'> | undefined {
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  const [state, , pgrp] = fields;
  const start = Number(fields[19]);
  if (!state || pgrp === undefined || !Number.isFinite(start)) return undefined;
  return { state, pgrp: Number(pgrp), start };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const parsed = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return parsed && { pid, ...parsed };
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/**
 * When a process started, as `<boot id>/<start ticks>`: with its pid, it names the process
 * across a restart of the server and not one that reuses the pid later (or after a reboot).
 */
export function processStart(pid: number): string | undefined {
  const stat = readStat(pid);
  return stat ? `${bootId()}/${stat.start}` : undefined;
}

/**
 * The live (not zombie) processes of the group that `pgid` and `start` recorded. The leader is
 * matched by its start time; once it has exited, the members left started after it did.
 */
export function groupMembers(pgid: number, start: string): number[] {
  const [boot, ticks] = start.split('/');
  if (boot !== bootId() || !Number.isInteger(pgid) || pgid <= 1) return [];
  const since = Number(ticks);
  const members: ProcStat[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(stat);
  }
  const leader = members.find((m) => m.pid === pgid);
  if (leader && leader.start !== since) return [];
  return members.filter((m) => m.start >= since).map((m) => m.pid);
}

/** How stopping a recorded process group went. */
export type GroupStop = 'gone' | 'stopped';

/**
 * Stops what is left of a recorded process group (e.g. a job's, after the server running it was
 * killed): SIGTERM, then SIGKILL after `graceMs`, and waits until none of it runs.
 * Answers `gone` when nothing of it ran any more.
 */
export async function stopProcessGroup(
  group: { pgid: number; start: string },
  graceMs = 3000,
): Promise<GroupStop> {
  if (groupMembers(group.pgid, group.start).length === 0) return 'gone';
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-group.pgid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  const ended = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (groupMembers(group.pgid, group.start).length === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return groupMembers(group.pgid, group.start).length === 0;
  };
  signal('SIGTERM');
  if (await ended(graceMs)) return 'stopped';
  signal('SIGKILL');
  if (await ended(5000)) return 'stopped';
  throw new Error(`process group ${group.pgid} still runs after SIGKILL`);
}
