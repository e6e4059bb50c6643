import { describe, expect, it } from 'vitest';
import { auditTarget } from './audit.ts';

describe('server/api/audit', () => {
  it("names a route's target from its path, else a creation's names from its body", () => {
    expect(auditTarget({ name: 'deploy' }, { name: 'other' })).toBe('deploy');
    expect(auditTarget({ repository: 'base', name: 'nginx' }, undefined)).toBe('base/nginx');
    expect(auditTarget({}, { name: 'base', plugin: 'yum', config: { PASSWORD: 'x' } })).toBe(
      'base',
    );
    expect(auditTarget({}, { repository: 'base', name: 'nginx', config: {} })).toBe('base/nginx');
    expect(auditTarget(undefined, { name: 'deploy', stages: [] })).toBe('deploy');
  });

  it('never records anything of a body but names and a URL without its credentials', () => {
    expect(auditTarget({}, { url: 'https://user:s3cret@repo.example/el9/?x=1' })).toBe(
      'https://repo.example/el9/',
    );
    expect(auditTarget({}, { name: 'has a secret: p@ss' })).toBe('');
    expect(auditTarget({}, 'repositories: []')).toBe('');
    expect(auditTarget({}, { url: 'not a url' })).toBe('');
  });
});
