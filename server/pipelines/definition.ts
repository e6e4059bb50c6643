import type { JsonValue } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import type { PipelineRow } from '../store/store.ts';

/** A package material of a pipeline definition. */
export type PackageMaterial = Extract<PipelineConfig['materials'][number], { package: string }>;
/** An upstream pipeline material of a pipeline definition. */
export type UpstreamMaterial = Extract<PipelineConfig['materials'][number], { pipeline: string }>;
/** A stage of a pipeline definition. */
export type StageConfig = PipelineConfig['stages'][number];

/**
 * The definition of a stored pipeline: the one place that reads one back. Definitions are
 * stored only after `PipelineConfig` has validated them (configuration file or API); a row
 * that is not even shaped like one is refused here rather than misread later.
 */
export function definitionOf(row: PipelineRow): PipelineConfig {
  if (!isDefinition(row.definition))
    throw new Error(`the stored definition of pipeline '${row.name}' is not a pipeline`);
  return row.definition;
}

/** A validated definition as the store keeps it: plain JSON. */
export function toStored(definition: PipelineConfig): JsonValue {
  const stored: JsonValue = JSON.parse(JSON.stringify(definition));
  return stored;
}

function isDefinition(value: JsonValue): value is JsonValue & PipelineConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof value.name === 'string' &&
    Array.isArray(value.materials) &&
    Array.isArray(value.stages)
  );
}

export function packageMaterials(definition: PipelineConfig): PackageMaterial[] {
  return definition.materials.filter((m): m is PackageMaterial => 'package' in m);
}

export function upstreamMaterials(definition: PipelineConfig): UpstreamMaterial[] {
  return definition.materials.filter((m): m is UpstreamMaterial => 'pipeline' in m);
}

/** `pipeline/stage`, the name of an upstream material in a run's cause. */
export function upstreamKey(m: UpstreamMaterial): string {
  return `${m.pipeline}/${m.stage}`;
}
