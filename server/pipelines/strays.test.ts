import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { groupMembers, processStart } from '../../agent/process-group.ts';
import { recordingLogger } from '../../test/helpers/harness.ts';
import type { JobProcess, RunRow } from '../store/store.ts';
import { overlapping, stopStrays } from './strays.ts';

/** A process group that would run for a minute, as a job killed with its server leaves. */
async function strayGroup(): Promise<JobProcess> {
  const child = spawn('/bin/sh', ['-c', 'sleep 60 & sleep 60; wait'], {
    detached: true,
    stdio: 'ignore',
  });
  const pid = child.pid as number;
  await new Promise((r) => setTimeout(r, 150));
  return { pgid: pid, start: processStart(pid) as string, host: hostname() };
}

function runWith(status: 'building' | 'failed', process: JobProcess | null): RunRow {
  return {
    id: 1,
    pipeline: 'deploy',
    counter: 3,
    status,
    cause: { materials: [], packages: {} },
    revisionKey: 'k',
    trigger: 'poll',
    triggeredBy: null,
    createdAt: 'now',
    finishedAt: null,
    stages: [
      {
        id: 10,
        runId: 1,
        position: 0,
        name: 'roll',
        status,
        approval: 'auto',
        approvedBy: null,
        approvedAt: null,
        approvalComment: null,
        startedAt: null,
        finishedAt: null,
        jobs: [
          {
            id: 11,
            stageId: 10,
            name: 'out',
            status,
            startedAt: null,
            finishedAt: null,
            exitCode: null,
            error: null,
            process,
          },
        ],
      },
    ],
  };
}

describe('server/pipelines/strays', () => {
  it('stops what still runs here of a taken-over job, and says so', async () => {
    const group = await strayGroup();
    expect(groupMembers(group.pgid, group.start).length).toBeGreaterThan(0);
    const outcomes = await stopStrays(runWith('building', group), recordingLogger());
    expect(outcomes.get(11)).toBe('stopped');
    expect(groupMembers(group.pgid, group.start)).toEqual([]);
    // Again: nothing ran any more.
    expect((await stopStrays(runWith('building', group), recordingLogger())).get(11)).toBe('gone');
    // Another host's: left alone, and said to be there.
    const there = { ...group, host: 'other-host' };
    expect((await stopStrays(runWith('building', there), recordingLogger())).get(11)).toBe(
      'elsewhere',
    );
  });

  it('lets a stage run again only once no copy of its jobs may still run', async () => {
    const group = await strayGroup();
    // Here: stopped first, then the re-run may go.
    expect(await overlapping(runWith('failed', group), 'roll', recordingLogger())).toBeUndefined();
    expect(groupMembers(group.pgid, group.start)).toEqual([]);
    // On another host: refused, with what to do.
    const there = { ...group, host: 'other-host' };
    expect(await overlapping(runWith('failed', there), 'roll', recordingLogger())).toBe(
      `job 'out' of deploy/3 stage 'roll' may still run on host other-host (process group ${group.pgid}); a server started on that host stops it: re-run the stage after that`,
    );
    expect(await overlapping(runWith('failed', null), 'roll', recordingLogger())).toBeUndefined();
  });
});
