import { describe, expect, it } from 'vitest';
import { samplePlugin } from '../../test/helpers/sample-plugin.ts';
import { materialFingerprint } from './fingerprint.ts';

const plugin = samplePlugin({
  repositoryProperties: [
    { key: 'URL' },
    { key: 'REGION' },
    { key: 'VERSIONS', required: false, partOfIdentity: false },
    { key: 'TOKEN', required: false, secure: true, partOfIdentity: true },
  ],
});
const repo = { URL: 'https://repo.test', REGION: 'eu' };
const pkg = { NAME: 'app' };

describe('core/plugin/fingerprint', () => {
  it('is a sha256 hex digest, stable for the same identity', () => {
    const fp = materialFingerprint(plugin, repo, pkg);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(materialFingerprint(plugin, { ...repo }, { ...pkg })).toBe(fp);
  });

  it('does not change when keys are reordered', () => {
    const reordered = { REGION: 'eu', URL: 'https://repo.test' };
    expect(materialFingerprint(plugin, reordered, pkg)).toBe(
      materialFingerprint(plugin, repo, pkg),
    );
  });

  it('excludes secure and non-identity values', () => {
    const base = materialFingerprint(plugin, repo, pkg);
    expect(materialFingerprint(plugin, { ...repo, TOKEN: 'a' }, pkg)).toBe(base);
    expect(materialFingerprint(plugin, { ...repo, TOKEN: 'b', VERSIONS: '1,2' }, pkg)).toBe(base);
  });

  it('changes with any identity value, and with the plugin id', () => {
    const base = materialFingerprint(plugin, repo, pkg);
    expect(materialFingerprint(plugin, { ...repo, REGION: 'us' }, pkg)).not.toBe(base);
    expect(materialFingerprint(plugin, repo, { NAME: 'other' })).not.toBe(base);
    expect(materialFingerprint({ ...plugin, id: 'other' }, repo, pkg)).not.toBe(base);
  });

  it('counts an unset property as its default value', () => {
    expect(materialFingerprint(plugin, repo, { NAME: 'app', CHANNEL: 'stable' })).toBe(
      materialFingerprint(plugin, repo, pkg),
    );
  });

  it('cannot be forged by moving text across a value boundary', () => {
    const a = materialFingerprint(plugin, { URL: 'x', REGION: 'y=z' }, pkg);
    const b = materialFingerprint(plugin, { URL: 'x REGION=y', REGION: 'z' }, pkg);
    expect(a).not.toBe(b);
  });
});
