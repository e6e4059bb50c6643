import { describe, expect, it } from 'vitest';
import { canRun, runsLocally, waitingReason } from './matching.ts';

const agent = (over: Partial<Parameters<typeof canRun>[0]> = {}) => ({
  state: 'enabled' as const,
  resources: ['rpm', 'linux'],
  environments: ['staging'],
  ...over,
});
const needs = (resources: string[], environment: string | null = null) => ({
  resources,
  environment,
});

describe('canRun', () => {
  it('needs every resource of the job', () => {
    expect(canRun(agent(), needs(['rpm']))).toBe(true);
    expect(canRun(agent(), needs(['rpm', 'linux']))).toBe(true);
    expect(canRun(agent(), needs(['rpm', 'deb']))).toBe(false);
    expect(canRun(agent(), needs([]))).toBe(true);
  });
  it("needs the pipeline's environment; a pipeline without one runs anywhere", () => {
    expect(canRun(agent(), needs([], 'staging'))).toBe(true);
    expect(canRun(agent(), needs([], 'production'))).toBe(false);
    expect(canRun(agent({ environments: [] }), needs([], 'production'))).toBe(false);
    expect(canRun(agent({ environments: [] }), needs([]))).toBe(true);
  });
  it('takes only enabled agents', () => {
    expect(canRun(agent({ state: 'pending' }), needs([]))).toBe(false);
    expect(canRun(agent({ state: 'disabled' }), needs([]))).toBe(false);
  });
});

describe('runsLocally', () => {
  const enabled = [{ state: 'enabled' as const }];
  const pending = [{ state: 'pending' as const }];
  it('auto: only while no agent is enabled, and only jobs without needs', () => {
    expect(runsLocally('auto', [], needs([]))).toBe(true);
    expect(runsLocally('auto', pending, needs([]))).toBe(true);
    expect(runsLocally('auto', enabled, needs([]))).toBe(false);
    expect(runsLocally('auto', [], needs(['rpm']))).toBe(false);
    expect(runsLocally('auto', [], needs([], 'production'))).toBe(false);
  });
  it('on and off', () => {
    expect(runsLocally('on', enabled, needs([]))).toBe(true);
    expect(runsLocally('on', enabled, needs(['rpm']))).toBe(false);
    expect(runsLocally('off', [], needs([]))).toBe(false);
  });
});

describe('waitingReason', () => {
  const seen = { hostname: 'a1', busy: false, lost: false };
  it('says when no agent can ever run the job, and which could once enabled', () => {
    expect(waitingReason([], needs(['rpm']))).toBe(
      'no enabled agent can run this job: it needs resources rpm',
    );
    expect(
      waitingReason([{ ...agent({ state: 'pending' }), ...seen }], needs(['rpm'], 'staging')),
    ).toBe(
      'no enabled agent can run this job: it needs resources rpm in environment staging; a1 (pending) could once enabled',
    );
  });
  it('is silent when an able agent is idle, and says so when all are busy', () => {
    expect(waitingReason([{ ...agent(), ...seen }], needs(['rpm']))).toBeUndefined();
    expect(waitingReason([{ ...agent(), ...seen, busy: true }], needs(['rpm']))).toMatch(
      /^waiting for an idle agent with resources rpm \(1 can run it/,
    );
  });
});
