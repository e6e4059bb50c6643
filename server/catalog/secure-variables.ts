import type { JsonValue } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import { variableLevels } from '../pipelines/variables.ts';

/**
 * Secure variables of stored pipeline definitions: sealed before they reach the store (an
 * unchanged value keeps its sealed form, so re-applying a file changes nothing), and shown by
 * the API only as `set`.
 */

/** Seals and opens values (the server's secret box). */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/**
 * The definition with every secure variable sealed. `previous` is the stored definition of the
 * same pipeline, if any: where it holds a sealed value that opens to the same text, that sealed
 * form is kept.
 */
export function sealSecureVariables(
  definition: PipelineConfig,
  previous: PipelineConfig | undefined,
  box: Sealer,
): PipelineConfig {
  const sealed: PipelineConfig = structuredClone(definition);
  const old = new Map(
    previous ? variableLevels(previous).map((l) => [levelKey(previous, l.path), l.level]) : [],
  );
  for (const { path, level } of variableLevels(sealed)) {
    const values = level.secureVariables;
    if (!values) continue;
    const before = old.get(levelKey(sealed, path))?.secureVariables ?? {};
    for (const [name, plain] of Object.entries(values)) {
      const kept = before[name];
      values[name] = kept !== undefined && opens(box, kept) === plain ? kept : box.seal(plain);
    }
  }
  return sealed;
}

/** A level named by its stage and job names (indexes move when stages are reordered). */
function levelKey(pipeline: PipelineConfig, path: string): string {
  const match = /^stages\[(\d+)\]\.(?:jobs\[(\d+)\]\.)?$/.exec(path);
  if (!match) return '';
  const stage = pipeline.stages[Number(match[1])];
  const job = match[2] === undefined ? undefined : stage?.jobs[Number(match[2])];
  return job ? `${stage?.name}/${job.name}` : `${stage?.name}`;
}

function opens(box: Sealer, sealed: string): string | undefined {
  try {
    return box.open(sealed);
  } catch {
    return undefined;
  }
}

/** A stored definition as the API shows it: each secure variable only as `set`. */
export function hideSecureVariables(definition: JsonValue): JsonValue {
  if (Array.isArray(definition)) return definition.map((v) => hideSecureVariables(v)) as JsonValue;
  if (definition === null || typeof definition !== 'object') return definition;
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(definition)) {
    if (key === 'secureVariables' && value && typeof value === 'object' && !Array.isArray(value))
      out[key] = Object.fromEntries(Object.keys(value).map((name) => [name, 'set']));
    else out[key] = hideSecureVariables(value as JsonValue);
  }
  return out;
}
