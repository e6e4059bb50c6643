import { NotFoundError } from 'hoist';
import type { Store } from '../store/store.ts';
import { definitionOf, packageMaterials, upstreamMaterials } from './definition.ts';
import { carries, type RunSources } from './resolve.ts';

/** What a pipeline's runs may be pinned to. */
export interface PinChoices {
  pipeline: string;
  packages: {
    material: string;
    /** The upstream pipeline it comes through, or null when taken from the repository. */
    via: string | null;
    /** Newest first; with `upstream`, the upstream run (`pipeline/counter`) that passed with it. */
    revisions: { revision: string; upstream?: string }[];
  }[];
  upstreams: {
    pipeline: string;
    stage: string;
    runs: { counter: number; createdAt: string; packages: Record<string, string> }[];
  }[];
}

/**
 * What a person may pin a pipeline to: for each package it takes from the repository, the
 * stored revisions; for each package it gets through an upstream pipeline, the revisions that
 * passed there (newest run first, each once); and the upstream runs that passed.
 */
export async function candidates(
  name: string,
  store: Pick<Store, 'getPipeline' | 'getPackage' | 'listRevisions'>,
  sources: Pick<RunSources, 'runs' | 'definition'>,
): Promise<PinChoices> {
  const pipeline = await store.getPipeline(name);
  if (!pipeline) throw new NotFoundError(`no pipeline '${name}'`);
  const definition = definitionOf(pipeline);
  const packages: PinChoices['packages'] = [];
  const upstreams: PinChoices['upstreams'] = [];
  // Asked once per upstream and package, not once per run: up to 1000 runs are read.
  const answers = new Map<string, Promise<boolean>>();
  const carried = (pipeline: string, material: string) => {
    const key = `${pipeline}\u0000${material}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = carries(pipeline, material, sources);
      answers.set(key, answer);
    }
    return answer;
  };
  for (const m of upstreamMaterials(definition)) {
    const runs = (await sources.runs(m.pipeline)).filter((r) =>
      r.stages.some((s) => s.name === m.stage && s.status === 'passed'),
    );
    upstreams.push({
      pipeline: m.pipeline,
      stage: m.stage,
      runs: runs.slice(0, 50).map((r) => ({
        counter: r.counter,
        createdAt: r.createdAt,
        packages: Object.fromEntries(
          Object.entries(r.cause.packages).map(([k, v]) => [k, v.revision]),
        ),
      })),
    });
    for (const run of runs) {
      for (const [material, revision] of Object.entries(run.cause.packages)) {
        if (!(await carried(m.pipeline, material))) continue;
        let entry = packages.find((p) => p.material === material && p.via === m.pipeline);
        if (!entry) {
          entry = { material, via: m.pipeline, revisions: [] };
          packages.push(entry);
        }
        if (entry.revisions.some((r) => r.revision === revision.revision)) continue;
        entry.revisions.push({
          revision: revision.revision,
          upstream: `${m.pipeline}/${run.counter}`,
        });
      }
    }
  }
  for (const m of packageMaterials(definition)) {
    if (packages.some((p) => p.material === m.package)) continue;
    const [repository, pkgName] = m.package.split('/') as [string, string];
    const pkg = await store.getPackage(repository, pkgName);
    const history = pkg ? await store.listRevisions(pkg.fingerprint, 50) : [];
    packages.push({
      material: m.package,
      via: null,
      revisions: history.map((r) => ({ revision: r.revision })),
    });
  }
  return { pipeline: name, packages, upstreams };
}
