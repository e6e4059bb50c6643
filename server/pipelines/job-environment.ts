import { materialEnvironment, type PluginHost } from 'hoist';
import type { Catalog } from '../catalog/catalog.ts';
import type { RunRow, StageRow } from '../store/store.ts';

/**
 * The environment of a run's stage's jobs, read from the run's one package record: where the
 * job runs, and each package's properties and revision data (`HOIST_PACKAGE_*`, `HOIST_REPO_*`);
 * and the secure values among them, to mask.
 */
export async function jobEnvironment(
  run: RunRow,
  stage: StageRow,
  parts: { catalog: Pick<Catalog, 'polledPackages'>; host: Pick<PluginHost, 'registry'> },
): Promise<{ env: Record<string, string>; secrets: string[] }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOIST_PIPELINE_NAME: run.pipeline,
    HOIST_PIPELINE_COUNTER: String(run.counter),
    HOIST_STAGE_NAME: stage.name,
  };
  const secrets: string[] = [];
  const polled = new Map(
    (await parts.catalog.polledPackages()).map((p) => [`${p.repository}/${p.name}`, p]),
  );
  for (const [material, revision] of Object.entries(run.cause.packages)) {
    const pkg = polled.get(material);
    const [repository, name] = material.split('/') as [string, string];
    const registry = parts.host.registry;
    const plugin = pkg && registry.has(pkg.plugin) ? registry.get(pkg.plugin) : undefined;
    for (const entry of materialEnvironment({
      repository,
      package: name,
      repositoryProperties: plugin?.repositoryProperties ?? [],
      packageProperties: plugin?.packageProperties ?? [],
      repositoryConfig: pkg?.repositoryConfig ?? {},
      packageConfig: pkg?.packageConfig ?? {},
      revision,
    })) {
      env[entry.name] = entry.value;
      if (entry.secure) secrets.push(entry.value);
    }
  }
  return { env, secrets };
}
