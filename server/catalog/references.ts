import { findMaterialNameCollisions, type ValidationIssue } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import { variableIssues } from '../pipelines/variables.ts';

/**
 * Reference rules of a configuration, shared by the configuration file's plan and the API's
 * changes, so that both refuse the same things with the same words. Pure: they read only what
 * they are given.
 */

/** What a pipeline's references are checked against. */
export interface KnownNames {
  /** Packages as `repo/pkg`. */
  packages: ReadonlySet<string>;
  /** The stages of each pipeline, by pipeline name. */
  stagesOf(pipeline: string): ReadonlySet<string> | undefined;
  /** The materials of each pipeline, by name (to know what its runs carry downstream). */
  materialsOf?(pipeline: string): PipelineConfig['materials'] | undefined;
}

/**
 * Every problem of a pipeline's references and names: unknown packages, upstream pipelines and
 * stages; stages and jobs named twice (their runs could not be told apart). Keys are relative
 * to the pipeline (`materials[0].package`).
 */
export function pipelineIssues(pipeline: PipelineConfig, known: KnownNames): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [j, material] of pipeline.materials.entries()) {
    if ('package' in material) {
      if (!known.packages.has(material.package))
        issues.push({
          key: `materials[${j}].package`,
          message: `no package '${material.package}'`,
        });
      continue;
    }
    const stages = known.stagesOf(material.pipeline);
    if (!stages)
      issues.push({
        key: `materials[${j}].pipeline`,
        message: `no pipeline '${material.pipeline}'`,
      });
    else if (!stages.has(material.stage))
      issues.push({
        key: `materials[${j}].stage`,
        message: `pipeline '${material.pipeline}' has no stage '${material.stage}'`,
      });
  }
  const stageNames = new Set<string>();
  for (const [s, stage] of pipeline.stages.entries()) {
    if (stageNames.has(stage.name))
      issues.push({ key: `stages[${s}].name`, message: `stage '${stage.name}' is defined twice` });
    stageNames.add(stage.name);
    const jobNames = new Set<string>();
    for (const [j, job] of stage.jobs.entries()) {
      if (jobNames.has(job.name))
        issues.push({
          key: `stages[${s}].jobs[${j}].name`,
          message: `job '${job.name}' is defined twice in stage '${stage.name}'`,
        });
      jobNames.add(job.name);
    }
  }
  issues.push(...fetchIssues(pipeline, known));
  issues.push(...variableIssues(pipeline));
  return issues;
}

/**
 * `fetch:` tasks name a package the pipeline's runs carry: one of its own package materials, or
 * one an upstream pipeline's runs carry (through any number of upstreams).
 */
function fetchIssues(pipeline: PipelineConfig, known: KnownNames): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  let carried: Set<string> | undefined;
  for (const [s, stage] of pipeline.stages.entries())
    for (const [j, job] of stage.jobs.entries())
      for (const [t, task] of job.tasks.entries()) {
        if (!('fetch' in task)) continue;
        carried ??= carriedPackages(pipeline.materials, known);
        if (carried.has(task.fetch)) continue;
        const names = [...carried].sort();
        issues.push({
          key: `stages[${s}].jobs[${j}].tasks[${t}].fetch`,
          message: known.packages.has(task.fetch)
            ? `package '${task.fetch}' is not a material of this pipeline nor of its upstreams (its runs carry ${names.length > 0 ? names.join(', ') : 'no package'})`
            : `no package '${task.fetch}'`,
        });
      }
  return issues;
}

/** The packages a pipeline's runs carry: its own, and what its upstreams' runs carry. */
function carriedPackages(
  materials: PipelineConfig['materials'],
  known: KnownNames,
  seen = new Set<string>(),
): Set<string> {
  const carried = new Set<string>();
  for (const material of materials) {
    if ('package' in material) {
      carried.add(material.package);
      continue;
    }
    if (seen.has(material.pipeline)) continue;
    seen.add(material.pipeline);
    const upstream = known.materialsOf?.(material.pipeline);
    // Without the upstreams' materials, any known package may come through them.
    const through = upstream ? carriedPackages(upstream, known, seen) : known.packages;
    for (const name of through) carried.add(name);
  }
  return carried;
}

/** Packages whose job variables would share a name (`a/b-c` and `a/b_c`). */
export function variableCollisions(
  packages: readonly { repository: string; package: string }[],
): string[] {
  return findMaterialNameCollisions([...packages]).map(
    (c) => `packages ${c.sources.join(' and ')} would share job variables ${c.name}; rename one`,
  );
}

/** Pipelines whose materials name any of these packages. */
export function pipelinesUsing(
  pipelines: readonly { name: string; definition: PipelineConfig }[],
  packages: readonly string[],
): string[] {
  const wanted = new Set(packages);
  return pipelines
    .filter((p) => p.definition.materials.some((m) => 'package' in m && wanted.has(m.package)))
    .map((p) => p.name);
}

/** Pipelines downstream of this one. */
export function pipelinesDownstreamOf(
  pipelines: readonly { name: string; definition: PipelineConfig }[],
  name: string,
): string[] {
  return pipelines
    .filter((p) => p.definition.materials.some((m) => 'pipeline' in m && m.pipeline === name))
    .map((p) => p.name);
}
