import { describe, expect, it } from 'vitest';
import { requireApprover } from './approvals.ts';
import type { StageConfig } from './definition.ts';

const production: StageConfig = {
  name: 'production',
  approval: 'manual',
  approvers: ['release-managers', 'carol'],
  jobs: [{ name: 'install', tasks: [{ run: 'true' }] }],
};

describe('server/pipelines/approvals', () => {
  it('lets the named people, their groups and admins open a manual stage', () => {
    expect(() => requireApprover(production, { name: 'carol' }, 'deploy')).not.toThrow();
    expect(() =>
      requireApprover(production, { name: 'alice', groups: ['release-managers'] }, 'deploy'),
    ).not.toThrow();
    expect(() =>
      requireApprover(production, { name: 'root', admin: true }, 'deploy'),
    ).not.toThrow();
  });

  it('refuses anyone else, naming the approvers and the action', () => {
    expect(() => requireApprover(production, { name: 'bob', groups: ['dev'] }, 'deploy')).toThrow(
      "only release-managers, carol may approve stage 'production' of deploy",
    );
    expect(() => requireApprover(production, { name: 'bob' }, 'deploy', 'run')).toThrow(
      expect.objectContaining({ code: 'ERR_FORBIDDEN' }),
    );
  });

  it('leaves auto stages and manual stages without approvers to every operator', () => {
    expect(() =>
      requireApprover({ ...production, approval: 'auto' }, { name: 'bob' }, 'deploy'),
    ).not.toThrow();
    const { approvers: _, ...open } = production;
    expect(() => requireApprover(open, { name: 'bob' }, 'deploy')).not.toThrow();
    expect(() => requireApprover(undefined, { name: 'bob' }, 'deploy')).not.toThrow();
  });
});
