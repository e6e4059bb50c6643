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
 * The definition of a stored pipeline. Definitions are stored only after `PipelineConfig` has
 * validated them (configuration file or API), so this is the one place that reads them back.
 */
export function definitionOf(row: PipelineRow): PipelineConfig {
  return row.definition as unknown as PipelineConfig;
}

/** A validated definition as the store keeps it. */
export function toStored(definition: PipelineConfig): JsonValue {
  return definition as unknown as JsonValue;
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
