import { describe, expect, it } from 'vitest';
import type { LockWaiter, PipelineLock, RunRow, StageStatus } from '../store/store.ts';
import * as locking from './locking.ts';

const NOW = '2026-12-01T10:00:00.000Z';

const lock = (counter: number, status: PipelineLock['status']): PipelineLock => ({
  pipeline: 'deploy',
  runId: counter * 100,
  counter,
  status,
  takenAt: NOW,
});

function run(counter: number, status: RunRow['status'], stages: StageStatus[]): RunRow {
  return {
    id: counter * 100,
    pipeline: 'deploy',
    counter,
    status,
    cause: { materials: [], packages: {} },
    revisionKey: 'k',
    trigger: 'poll',
    triggeredBy: null,
    createdAt: NOW,
    finishedAt: null,
    stages: stages.map((s, position) => ({
      id: counter * 100 + position + 1,
      runId: counter * 100,
      position,
      name: `s${position}`,
      status: s,
      approval: 'auto',
      approvedBy: null,
      approvedAt: null,
      approvalComment: null,
      startedAt: null,
      finishedAt: null,
      jobs: [],
    })),
  };
}

describe('locking', () => {
  it('reads the behaviour from the definition, none when absent', () => {
    expect(locking.behaviourOf({})).toBe('none');
    expect(locking.behaviourOf({ lock: 'lockOnFailure' })).toBe('lockOnFailure');
    expect(locking.needsLock('none')).toBe(false);
    expect(locking.needsLock('unlockWhenFinished')).toBe(true);
  });

  it('releases with the end of a run, except a failure of a pipeline that locks on failure', () => {
    const end = (status: 'passed' | 'failed' | 'cancelled' | 'waiting') => ({
      run: { status, finishedAt: NOW },
    });
    for (const behaviour of ['none', 'unlockWhenFinished', 'lockOnFailure'] as const) {
      expect(locking.withRelease(end('passed'), behaviour).lock).toBe('release');
      expect(locking.withRelease(end('cancelled'), behaviour).lock).toBe('release');
      // Waiting for an approval is not the end: the run keeps its lock.
      expect(locking.withRelease(end('waiting'), behaviour).lock).toBeUndefined();
      expect(locking.withRelease({ stages: [] }, behaviour).lock).toBeUndefined();
    }
    expect(locking.withRelease(end('failed'), 'unlockWhenFinished').lock).toBe('release');
    expect(locking.withRelease(end('failed'), 'lockOnFailure').lock).toBeUndefined();
  });

  it('says why a run waits, naming the holder and its state', () => {
    const waiting = run(4, 'building', ['scheduled']);
    expect(locking.waitingFor(waiting, lock(3, 'building'), 'unlockWhenFinished')).toBe(
      "the lock of pipeline 'deploy', held by run 3 (building)",
    );
    expect(locking.waitingFor(waiting, lock(3, 'waiting'), 'unlockWhenFinished')).toBe(
      "the lock of pipeline 'deploy', held by run 3 (waiting for an approval)",
    );
    expect(locking.waitingFor(waiting, lock(3, 'failed'), 'lockOnFailure')).toBe(
      "the lock of pipeline 'deploy', held by run 3 (failed); it stays locked until unlocked or that run passes",
    );
    // Not waiting: no lock, the lock is free or its own, or its stage runs or awaits approval.
    expect(locking.waitingFor(waiting, lock(3, 'building'), 'none')).toBeUndefined();
    expect(locking.waitingFor(waiting, undefined, 'lockOnFailure')).toBeUndefined();
    expect(locking.waitingFor(waiting, lock(3, 'passed'), 'lockOnFailure')).toBeUndefined();
    expect(locking.waitingFor(waiting, lock(4, 'building'), 'lockOnFailure')).toBeUndefined();
    const started = run(4, 'building', ['passed', 'building']);
    expect(locking.waitingFor(started, lock(3, 'building'), 'lockOnFailure')).toBeUndefined();
    const gated = run(4, 'waiting', ['awaiting_approval']);
    expect(locking.waitingFor(gated, lock(3, 'building'), 'lockOnFailure')).toBeUndefined();
    // A re-run of a later stage waits like a new run.
    const rerun = run(2, 'building', ['passed', 'scheduled']);
    expect(locking.waitingFor(rerun, lock(3, 'building'), 'lockOnFailure')).toContain('run 3');
  });

  it('lets an operator unlock only a lock that a failed run keeps', () => {
    expect(locking.unlockRefusal('deploy', undefined)).toBe("pipeline 'deploy' is not locked");
    expect(locking.unlockRefusal('deploy', lock(3, 'passed'))).toBe(
      "pipeline 'deploy' is not locked",
    );
    expect(locking.unlockRefusal('deploy', lock(3, 'building'))).toBe(
      "the lock of pipeline 'deploy' is held by run 3 (building), which releases it when it ends: cancel the run first",
    );
    expect(locking.unlockRefusal('deploy', lock(3, 'waiting'))).toContain('cancel the run first');
    expect(locking.unlockRefusal('deploy', lock(3, 'failed'))).toBeUndefined();
  });

  it('shows a held lock, and finds locks the configuration no longer keeps', () => {
    expect(locking.lockedView(lock(3, 'building'))).toEqual({ heldBy: 3, state: 'running' });
    expect(locking.lockedView(lock(3, 'waiting'))).toEqual({ heldBy: 3, state: 'running' });
    expect(locking.lockedView(lock(3, 'failed'))).toEqual({ heldBy: 3, state: 'failed' });
    expect(locking.lockedView(lock(3, 'cancelled'))).toBeUndefined();
    expect(locking.stale(lock(3, 'building'), 'none')).toBe(true);
    expect(locking.stale(lock(3, 'building'), 'unlockWhenFinished')).toBe(false);
    expect(locking.stale(lock(3, 'failed'), 'lockOnFailure')).toBe(false);
    expect(locking.stale(lock(3, 'failed'), 'unlockWhenFinished')).toBe(true);
  });

  it('wakes the oldest waiting run of a free lock, and every one of a pipeline without a lock', () => {
    const w = (pipeline: string, counter: number): LockWaiter => ({
      id: counter,
      pipeline,
      counter,
      since: NOW,
    });
    const waiters = [w('a', 4), w('a', 5), w('b', 2), w('b', 3), w('c', 7), w('c', 8)];
    const locks = new Map([['b', { ...lock(1, 'failed'), pipeline: 'b' }]]);
    const behaviour = (p: string) => (p === 'c' ? 'none' : 'lockOnFailure');
    expect(
      locking.toWake(waiters, locks, behaviour).map((x) => `${x.pipeline}${x.counter}`),
    ).toEqual(['a4', 'c7', 'c8']);
  });
});
