import { defineRepositoryPlugin, type RepositoryPluginInput, type Revision } from 'hoist';

/** A revision of the sample plugin's package at `version`. */
export function sampleRevision(version: number): Revision {
  return {
    revision: `app-${version}`,
    timestamp: new Date(Date.UTC(2026, 0, version)).toISOString(),
    user: 'builder',
    data: { VERSION: String(version), LOCATION: `https://repo.test/app-${version}.rpm` },
  };
}

/**
 * A small in-memory plugin: the repository's `VERSIONS` property lists the versions it holds.
 * `overrides` replaces any call, to make the plugin misbehave on purpose.
 */
export function samplePlugin(overrides: Partial<RepositoryPluginInput> = {}) {
  const versions = (repo: Readonly<Record<string, string>>) =>
    (repo.VERSIONS ?? '')
      .split(',')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  return defineRepositoryPlugin({
    id: 'sample',
    version: '1.0.0',
    displayName: 'Sample repository',
    repositoryProperties: [
      { key: 'URL', displayName: 'URL', displayOrder: 0 },
      { key: 'VERSIONS', displayName: 'Versions', required: false, partOfIdentity: false },
      { key: 'TOKEN', displayName: 'Token', required: false, secure: true },
    ],
    packageProperties: [
      { key: 'NAME', displayName: 'Package name' },
      { key: 'CHANNEL', required: false, defaultValue: 'stable' },
    ],
    validateRepository(repo) {
      return repo.URL && !/^https?:\/\//.test(repo.URL)
        ? [{ key: 'URL', message: 'URL must start with http:// or https://' }]
        : [];
    },
    async checkRepositoryConnection() {
      return { ok: true, messages: ['Reached the sample repository'] };
    },
    async checkPackageConnection(repo) {
      const newest = versions(repo).at(-1);
      return newest === undefined
        ? { ok: false, messages: ['No version found'] }
        : { ok: true, messages: [`Found package 'app-${newest}'.`] };
    },
    async latestRevision(repo) {
      const newest = versions(repo).at(-1);
      return newest === undefined ? null : sampleRevision(newest);
    },
    async latestRevisionsSince(repo, _pkg, previous) {
      const known = Number(previous.data.VERSION);
      return versions(repo)
        .filter((v) => v > known)
        .map(sampleRevision);
    },
    ...overrides,
  });
}
