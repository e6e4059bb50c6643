import { ConflictError, NotFoundError, type Revision } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import type { RunRow } from '../store/store.ts';
import { type CauseInputs, ownMaterials, type UpstreamChoice } from './cause.ts';
import { packageMaterials, upstreamKey, upstreamMaterials } from './definition.ts';

/** What the resolver may read. */
export interface RunSources {
  definition(pipeline: string): Promise<PipelineConfig | undefined>;
  /** A pipeline's runs, newest first (as many as are worth searching). */
  runs(pipeline: string): Promise<RunRow[]>;
  run(pipeline: string, counter: number): Promise<RunRow | undefined>;
  /** The newest stored revision of a package material. */
  latest(material: string): Promise<Revision | undefined>;
  /** The revision with this label: from the history, else from the repository. */
  revision(material: string, label: string): Promise<Revision | undefined>;
}

/** What a run is asked for. */
export interface RunSelection {
  /** New revisions of package materials (a poll or check-now). */
  changed?: Record<string, Revision>;
  /** The upstream run whose stage passed (an upstream trigger). */
  upstream?: { run: RunRow; stage: string };
  /** A person's pins: package revisions by `repo/pkg`, upstream runs by pipeline name. */
  pins?: { packages: Record<string, string>; upstreams: Record<string, number> };
}

/**
 * Resolves what a run of `definition` receives. A package that an upstream pipeline carries is
 * never taken from the repository: a pin of it selects the newest upstream run whose stage
 * passed with that revision (only a tested package is promoted); an upstream pin selects that
 * run, which must have passed. Package materials of the pipeline's own come from the pins, the
 * new revisions, or the newest stored revision, in that order.
 * @throws NotFoundError for a pin that names nothing of the pipeline, or no such revision/run.
 * @throws ConflictError when no upstream run passed with the pinned revisions, or an input has
 *   nothing to run with yet.
 */
export async function resolveRun(
  definition: PipelineConfig,
  selection: RunSelection,
  sources: RunSources,
): Promise<CauseInputs> {
  const pins = selection.pins ?? { packages: {}, upstreams: {} };
  const carried = await carriedPins(definition, pins, sources);
  const upstreams: Record<string, UpstreamChoice> = {};
  for (const m of upstreamMaterials(definition)) {
    const wanted = Object.entries(pins.packages).filter(([material]) =>
      carried.get(material)?.has(m.pipeline),
    );
    upstreams[upstreamKey(m)] = await chooseUpstream(m, wanted, selection, pins, sources);
  }
  const own: CauseInputs['own'] = {};
  for (const material of ownMaterials(definition, upstreams)) {
    const label = pins.packages[material];
    if (label !== undefined) {
      const revision = await sources.revision(material, label);
      if (!revision) throw new NotFoundError(`no revision '${label}' of '${material}'`);
      own[material] = { revision, changed: true };
      continue;
    }
    const fresh = selection.changed?.[material];
    const revision = fresh ?? (await sources.latest(material));
    if (!revision) {
      throw new ConflictError(
        `pipeline '${definition.name}' cannot run yet: '${material}' has no revision`,
      );
    }
    own[material] = { revision, changed: fresh !== undefined };
  }
  const trigger = selection.upstream && {
    pipeline: selection.upstream.run.pipeline,
    counter: selection.upstream.run.counter,
    stage: selection.upstream.stage,
  };
  return { upstreams, own, ...(trigger ? { trigger } : {}) };
}

/** For each pinned package: the upstream pipelines that carry it. Refuses pins of nothing. */
async function carriedPins(
  definition: PipelineConfig,
  pins: NonNullable<RunSelection['pins']>,
  sources: RunSources,
): Promise<Map<string, Set<string>>> {
  const upstreams = upstreamMaterials(definition);
  for (const name of Object.keys(pins.upstreams)) {
    if (!upstreams.some((m) => m.pipeline === name)) {
      throw new NotFoundError(`pipeline '${definition.name}' has no upstream pipeline '${name}'`);
    }
  }
  const carried = new Map<string, Set<string>>();
  for (const material of Object.keys(pins.packages)) {
    const via = new Set<string>();
    for (const m of upstreams) {
      if (await carries(m.pipeline, material, sources)) via.add(m.pipeline);
    }
    const own = packageMaterials(definition).some((m) => m.package === material);
    if (!own && via.size === 0) {
      throw new NotFoundError(
        `pipeline '${definition.name}' has no package material '${material}', directly or through an upstream pipeline`,
      );
    }
    carried.set(material, via);
  }
  return carried;
}

async function chooseUpstream(
  m: { pipeline: string; stage: string },
  wanted: [string, string][],
  selection: RunSelection,
  pins: NonNullable<RunSelection['pins']>,
  sources: RunSources,
): Promise<UpstreamChoice> {
  const trigger = selection.upstream;
  if (trigger && trigger.run.pipeline === m.pipeline && trigger.stage === m.stage) {
    return { run: trigger.run, changed: true };
  }
  const counter = pins.upstreams[m.pipeline];
  if (counter !== undefined) {
    const run = await sources.run(m.pipeline, counter);
    if (!run) throw new NotFoundError(`no run ${m.pipeline}/${counter}`);
    if (!passed(run, m.stage)) {
      throw new ConflictError(
        `${m.pipeline}/${counter} has not passed stage '${m.stage}': only a run that passed it can be promoted`,
      );
    }
    const other = wanted.find(
      ([material, label]) => run.cause.packages[material]?.revision !== label,
    );
    if (other) {
      throw new ConflictError(
        `${m.pipeline}/${counter} ran ${other[0]} ${run.cause.packages[other[0]]?.revision ?? '(none)'}, not ${other[1]}`,
      );
    }
    return { run, changed: true };
  }
  const runs = await sources.runs(m.pipeline);
  if (wanted.length > 0) {
    const run = runs.find(
      (r) =>
        passed(r, m.stage) &&
        wanted.every(([material, label]) => r.cause.packages[material]?.revision === label),
    );
    if (!run) {
      const what = wanted.map(([material, label]) => `${material} ${label}`).join(', ');
      throw new ConflictError(
        `no run of '${m.pipeline}' passed stage '${m.stage}' with ${what}: only a tested package can be promoted`,
      );
    }
    return { run, changed: true };
  }
  const run = runs.find((r) => passed(r, m.stage));
  if (!run) {
    throw new ConflictError(
      `upstream pipeline '${m.pipeline}' has not passed stage '${m.stage}' yet`,
    );
  }
  return { run, changed: false };
}

/** Does the pipeline get this package, directly or through its own upstreams? */
export async function carries(
  pipeline: string,
  material: string,
  sources: Pick<RunSources, 'definition'>,
  seen = new Set<string>(),
): Promise<boolean> {
  if (seen.has(pipeline)) return false;
  seen.add(pipeline);
  const definition = await sources.definition(pipeline);
  for (const m of definition?.materials ?? []) {
    if ('package' in m && m.package === material) return true;
    if ('pipeline' in m && (await carries(m.pipeline, material, sources, seen))) return true;
  }
  return false;
}

function passed(run: RunRow, stage: string): boolean {
  return run.stages.some((s) => s.name === stage && s.status === 'passed');
}
