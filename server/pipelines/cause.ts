import { createHash } from 'node:crypto';
import type { Revision } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import type { BuildCause, CauseMaterial, RunRow } from '../store/store.ts';
import { packageMaterials, upstreamKey, upstreamMaterials } from './definition.ts';

/** The run an upstream material resolved to. */
export interface UpstreamChoice {
  run: Pick<RunRow, 'pipeline' | 'counter' | 'cause'>;
  /** Did this material change (it triggered the run, or a person chose it)? */
  changed: boolean;
}

/** A revision chosen for a package material that no upstream carries. */
export interface OwnChoice {
  revision: Revision;
  changed: boolean;
}

/** What a run was resolved to, before it is written down. */
export interface CauseInputs {
  /** By `pipeline/stage`, for every upstream material of the definition. */
  upstreams: Record<string, UpstreamChoice>;
  /** By `repo/pkg`, for the package materials that no chosen upstream run carries. */
  own: Record<string, OwnChoice>;
  /** The upstream stage whose pass triggered the run. */
  trigger?: { pipeline: string; counter: number; stage: string };
}

/**
 * Writes down what a run receives: `packages` is the one record of the package revisions its
 * jobs get; each material's revision in `materials` is read from it (or from the upstream run),
 * so the two cannot disagree. A package an upstream run carries is taken from that run (it is
 * the package that was tested); the triggering upstream's packages come first.
 * @throws Error when an input is missing: the resolver must provide every material.
 */
export function composeCause(definition: PipelineConfig, inputs: CauseInputs): BuildCause {
  const upstreams = upstreamMaterials(definition);
  const ordered = [...upstreams].sort((a, b) => rank(a) - rank(b));
  function rank(m: (typeof upstreams)[number]): number {
    return inputs.trigger && inputs.trigger.pipeline === m.pipeline ? 0 : 1;
  }
  const packages: Record<string, Revision> = {};
  const carriedBy = new Map<string, UpstreamChoice>();
  for (const m of ordered) {
    const choice = required(inputs.upstreams[upstreamKey(m)], upstreamKey(m));
    for (const [material, revision] of Object.entries(choice.run.cause.packages)) {
      if (material in packages) continue;
      packages[material] = strip(revision);
      carriedBy.set(material, choice);
    }
  }
  const materials: CauseMaterial[] = [];
  for (const m of definition.materials) {
    if ('pipeline' in m) {
      const choice = required(inputs.upstreams[upstreamKey(m)], upstreamKey(m));
      materials.push({
        material: upstreamKey(m),
        type: 'pipeline',
        revision: `${choice.run.pipeline}/${choice.run.counter}/${m.stage}`,
        changed: choice.changed,
      });
      continue;
    }
    const carrier = carriedBy.get(m.package);
    if (!carrier) packages[m.package] = strip(required(inputs.own[m.package], m.package).revision);
    materials.push({
      material: m.package,
      type: 'package',
      revision: (packages[m.package] as Revision).revision,
      changed: carrier ? carrier.changed : (inputs.own[m.package]?.changed ?? false),
    });
  }
  return { materials, packages, ...(inputs.trigger ? { upstream: inputs.trigger } : {}) };
}

/** The package materials of a definition that the chosen upstream runs do not carry. */
export function ownMaterials(
  definition: PipelineConfig,
  upstreams: Record<string, UpstreamChoice>,
): string[] {
  const carried = new Set(
    Object.values(upstreams).flatMap((u) => Object.keys(u.run.cause.packages)),
  );
  return packageMaterials(definition)
    .map((m) => m.package)
    .filter((m) => !carried.has(m));
}

/** The identity of a run's inputs: a poll never runs a pipeline twice with the same key. */
export function revisionKey(cause: BuildCause): string {
  return createHash('sha256')
    .update(JSON.stringify(cause.materials.map((m) => [m.material, m.revision]).sort()))
    .digest('hex');
}

/** A revision as a run keeps it: the plugin's fields, nothing the store added. */
export function strip(revision: Revision): Revision {
  const { revision: label, timestamp, user, comment, trackbackUrl, data } = revision;
  return {
    revision: label,
    timestamp,
    data,
    ...(user ? { user } : {}),
    ...(comment ? { comment } : {}),
    ...(trackbackUrl ? { trackbackUrl } : {}),
  };
}

function required<T>(value: T | undefined, material: string): T {
  if (value === undefined) throw new Error(`no input was resolved for material '${material}'`);
  return value;
}
