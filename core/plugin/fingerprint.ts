import { createHash } from 'node:crypto';
import { withDefaults } from './configuration.ts';
import type { Configuration, RepositoryPlugin } from './types.ts';

/**
 * The material fingerprint: sha256 of the plugin id and the part-of-identity properties of the
 * repository and the package, each level sorted by key. Names, secure values and non-identity
 * values are left out, so renaming, reordering or rotating a password keeps the history.
 * Unset properties count with their default value, so spelling out a default changes nothing.
 */
export function materialFingerprint(
  plugin: Pick<RepositoryPlugin, 'id' | 'repositoryProperties' | 'packageProperties'>,
  repository: Configuration,
  pkg: Configuration,
): string {
  const identity = (
    level: 'package' | 'repository',
    props: RepositoryPlugin['packageProperties'],
    config: Configuration,
  ) => {
    const full = withDefaults(props, config);
    return props
      .filter((p) => p.partOfIdentity && !p.secure)
      .map((p) => p.key)
      .sort()
      .map((key) => [level, key, full[key] ?? '']);
  };
  // JSON keeps every boundary unambiguous: no value can forge a delimiter.
  const canonical = JSON.stringify([
    plugin.id,
    ...identity('package', plugin.packageProperties, pkg),
    ...identity('repository', plugin.repositoryProperties, repository),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
