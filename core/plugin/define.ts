import { PluginDefinitionError } from '../errors.ts';
import { escapeEnvName } from './environment.ts';
import {
  PLUGIN_API_VERSION,
  PROPERTY_KEY,
  type PropertyDefinition,
  type PropertyInput,
  type RepositoryPlugin,
  type RepositoryPluginInput,
} from './types.ts';

/** Plugin ids: kebab-case, starting with a letter. */
export const PLUGIN_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

const REQUIRED_CALLS = [
  'checkRepositoryConnection',
  'checkPackageConnection',
  'latestRevision',
  'latestRevisionsSince',
] as const;

/**
 * Declares a repository plugin. Checks the declaration at once (id, version, property keys,
 * required calls), applies GoCD's property defaults (required and part-of-identity on, secure
 * off), sorts properties by display order, stamps the plugin API version and freezes the result.
 *
 * @throws PluginDefinitionError naming the plugin and what is wrong with it.
 */
export function defineRepositoryPlugin(input: RepositoryPluginInput): RepositoryPlugin {
  const id = typeof input?.id === 'string' ? input.id : '';
  const fail = (message: string): never => {
    throw new PluginDefinitionError(`Plugin '${id || '?'}': ${message}`, { pluginId: id });
  };
  if (!PLUGIN_ID.test(id)) fail(`invalid id '${id}': use kebab-case, e.g. 'my-repo'`);
  if (typeof input.version !== 'string' || input.version.trim() === '') fail('version is missing');
  if (typeof input.displayName !== 'string' || input.displayName.trim() === '') {
    fail('displayName is missing');
  }
  for (const call of REQUIRED_CALLS) {
    if (typeof input[call] !== 'function') fail(`${call} must be a function`);
  }
  for (const call of ['validateRepository', 'validatePackage', 'revisionByLabel'] as const) {
    if (input[call] !== undefined && typeof input[call] !== 'function') {
      fail(`${call} must be a function when given`);
    }
  }
  if (
    input.configuration !== undefined &&
    input.configuration !== 'with-defaults' &&
    input.configuration !== 'as-configured'
  ) {
    fail(`configuration must be 'with-defaults' or 'as-configured'`);
  }
  const repositoryProperties = normalizeProperties(input.repositoryProperties, 'repository', fail);
  const packageProperties = normalizeProperties(input.packageProperties, 'package', fail);

  return Object.freeze({
    apiVersion: PLUGIN_API_VERSION,
    id,
    version: input.version,
    displayName: input.displayName,
    description: input.description,
    configuration: input.configuration ?? 'with-defaults',
    repositoryProperties,
    packageProperties,
    validateRepository: input.validateRepository,
    validatePackage: input.validatePackage,
    checkRepositoryConnection: input.checkRepositoryConnection,
    checkPackageConnection: input.checkPackageConnection,
    latestRevision: input.latestRevision,
    latestRevisionsSince: input.latestRevisionsSince,
    revisionByLabel: input.revisionByLabel,
    latestRevisionsSinceIfUnchanged: input.latestRevisionsSinceIfUnchanged,
  } satisfies RepositoryPlugin);
}

function normalizeProperties(
  inputs: PropertyInput[] | undefined,
  level: 'repository' | 'package',
  fail: (message: string) => never,
): readonly PropertyDefinition[] {
  if (!Array.isArray(inputs)) fail(`${level}Properties must be an array`);
  const seen = new Set<string>();
  const envNames = new Map<string, string>();
  const properties = (inputs as PropertyInput[]).map((p, index): PropertyDefinition => {
    if (typeof p?.key !== 'string' || !PROPERTY_KEY.test(p.key)) {
      fail(`${level} property #${index + 1} has an invalid key; use letters, digits, '_' and '-'`);
    }
    if (seen.has(p.key)) fail(`${level} property '${p.key}' is declared twice`);
    seen.add(p.key);
    const envName = escapeEnvName(p.key);
    const other = envNames.get(envName);
    if (other !== undefined) {
      fail(
        `${level} properties '${other}' and '${p.key}' would be the same job variable (…_${envName})`,
      );
    }
    envNames.set(envName, p.key);
    if (p.defaultValue !== undefined && typeof p.defaultValue !== 'string') {
      fail(`${level} property '${p.key}' has a default value that is not a string`);
    }
    const secure = p.secure ?? false;
    return Object.freeze({
      key: p.key,
      displayName: p.displayName ?? p.key,
      displayOrder: p.displayOrder ?? index,
      required: p.required ?? true,
      secure,
      // A secret must never decide identity: rotating a password must not lose the history.
      partOfIdentity: secure ? false : (p.partOfIdentity ?? true),
      defaultValue: p.defaultValue,
      description: p.description,
    });
  });
  return Object.freeze(properties.sort((a, b) => a.displayOrder - b.displayOrder));
}
