import type { Configuration, PropertyDefinition, Revision } from './types.ts';

/** Upper-cases and replaces every character outside `[A-Za-z0-9_]` with `_` (GoCD's rule). */
export function escapeEnvName(value: string): string {
  return value.replace(/[^A-Za-z0-9_]/g, '_').toUpperCase();
}

/** `<MAT>` of the job environment: `<REPOSITORY>_<PACKAGE>`, escaped. */
export function materialEnvName(repository: string, pkg: string): string {
  return escapeEnvName(`${repository}_${pkg}`);
}

/** A material as the job environment sees it. */
export interface MaterialEnvInput {
  repository: string;
  package: string;
  repositoryProperties: readonly PropertyDefinition[];
  packageProperties: readonly PropertyDefinition[];
  repositoryConfig: Configuration;
  packageConfig: Configuration;
  revision: Pick<Revision, 'revision' | 'data'>;
}

/** One environment variable with where it came from and whether it must be masked. */
export interface EnvEntry {
  name: string;
  value: string;
  secure: boolean;
  source: string;
}

/**
 * The job environment of one material: `HOIST_PACKAGE_<MAT>_LABEL`, one
 * `HOIST_PACKAGE_<MAT>_<KEY>` per package property and revision data key, one
 * `HOIST_REPO_<MAT>_<KEY>` per repository property (secure ones flagged for masking).
 */
export function materialEnvironment(input: MaterialEnvInput): EnvEntry[] {
  const mat = materialEnvName(input.repository, input.package);
  const where = `${input.repository}/${input.package}`;
  const entries: EnvEntry[] = [
    {
      name: `HOIST_PACKAGE_${mat}_LABEL`,
      value: input.revision.revision,
      secure: false,
      source: `${where} label`,
    },
  ];
  for (const p of input.packageProperties) {
    const value = input.packageConfig[p.key];
    if (value === undefined) continue;
    entries.push({
      name: `HOIST_PACKAGE_${mat}_${escapeEnvName(p.key)}`,
      value,
      secure: p.secure,
      source: `${where} package property ${p.key}`,
    });
  }
  for (const [key, value] of Object.entries(input.revision.data)) {
    entries.push({
      name: `HOIST_PACKAGE_${mat}_${escapeEnvName(key)}`,
      value,
      secure: false,
      source: `${where} revision data ${key}`,
    });
  }
  for (const p of input.repositoryProperties) {
    const value = input.repositoryConfig[p.key];
    if (value === undefined) continue;
    entries.push({
      name: `HOIST_REPO_${mat}_${escapeEnvName(p.key)}`,
      value,
      secure: p.secure,
      source: `${where} repository property ${p.key}`,
    });
  }
  return entries;
}

/** Two sources that map to the same variable name. */
export interface EnvCollision {
  name: string;
  sources: string[];
}

/** Materials whose `<MAT>` names collide, e.g. `my-repo/app` and `my_repo/app`. */
export function findMaterialNameCollisions(
  materials: readonly { repository: string; package: string }[],
): EnvCollision[] {
  const byName = new Map<string, string[]>();
  for (const m of materials) {
    const name = materialEnvName(m.repository, m.package);
    const where = `${m.repository}/${m.package}`;
    const list = byName.get(name) ?? [];
    if (!list.includes(where)) list.push(where);
    byName.set(name, list);
  }
  return [...byName]
    .filter(([, sources]) => sources.length > 1)
    .map(([name, sources]) => ({ name: `HOIST_PACKAGE_${name}_*`, sources }));
}

/** Variables that more than one entry would set (e.g. a package property and a data key). */
export function findEnvCollisions(entries: readonly EnvEntry[]): EnvCollision[] {
  const byName = new Map<string, string[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e.source]);
  return [...byName]
    .filter(([, sources]) => sources.length > 1)
    .map(([name, sources]) => ({ name, sources }));
}
