import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { groupMembers, parseStat, processStart, stopProcessGroup } from './process-group.ts';

describe('server/process-group', () => {
  it('reads the state, group and start time of /proc/<pid>/stat, whatever the command name', () => {
    const fields = ['S', '1', '4242', '4242', ...Array.from({ length: 15 }, () => '0'), '98765'];
    expect(parseStat(`4243 (sh) ${fields.join(' ')} 0 0`)).toEqual({
      state: 'S',
      pgrp: 4242,
      start: 98765,
    });
    expect(parseStat(`4243 (a) b) (c) ${fields.join(' ')}`)?.pgrp).toBe(4242);
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('finds a live group by its leader start, stops it, and not a group of a reused pid', async () => {
    // A shell leading its own group, with a child that outlives nothing but itself.
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30; wait'], {
      detached: true,
      stdio: 'ignore',
    });
    const pid = child.pid as number;
    await new Promise((r) => setTimeout(r, 200));
    const start = processStart(pid) as string;
    expect(start).toMatch(/^[0-9a-f-]+\/\d+$/);
    expect(groupMembers(pid, start).length).toBeGreaterThanOrEqual(3);
    // Same pid, another start: a process that merely reuses the pid is not this group.
    const [boot, ticks] = start.split('/');
    expect(groupMembers(pid, `${boot}/${Number(ticks) + 1}`)).toEqual([]);
    expect(groupMembers(pid, `another-boot/${ticks}`)).toEqual([]);
    const began = Date.now();
    expect(await stopProcessGroup({ pgid: pid, start }, 2000)).toBe('stopped');
    expect(Date.now() - began).toBeLessThan(2000);
    expect(groupMembers(pid, start)).toEqual([]);
    expect(await stopProcessGroup({ pgid: pid, start })).toBe('gone');
  });

  it('falls back to SIGKILL when the group ignores SIGTERM', async () => {
    const child = spawn('/bin/sh', ['-c', "trap '' TERM; sleep 30 & trap '' TERM; wait"], {
      detached: true,
      stdio: 'ignore',
    });
    const pid = child.pid as number;
    await new Promise((r) => setTimeout(r, 200));
    const start = processStart(pid) as string;
    expect(await stopProcessGroup({ pgid: pid, start }, 300)).toBe('stopped');
    expect(groupMembers(pid, start)).toEqual([]);
  });
});
