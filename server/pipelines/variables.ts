import type { ValidationIssue } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';

/**
 * Variables and secure variables of a pipeline, its stages and jobs: the levels where each may
 * be given, the job environment they make (the innermost level wins) and which values are
 * secret. Pure: secure values stay sealed until the caller's `open` is given them.
 */

/** One level that may hold variables. */
export interface VariableLevel {
  variables?: Record<string, string>;
  secureVariables?: Record<string, string>;
}

/** Every level of a pipeline with its path (relative to the pipeline), outermost first. */
export function variableLevels(pipeline: PipelineConfig): { path: string; level: VariableLevel }[] {
  const levels: { path: string; level: VariableLevel }[] = [{ path: '', level: pipeline }];
  for (const [s, stage] of pipeline.stages.entries()) {
    levels.push({ path: `stages[${s}].`, level: stage });
    for (const [j, job] of stage.jobs.entries())
      levels.push({ path: `stages[${s}].jobs[${j}].`, level: job });
  }
  return levels;
}

/** A name given both as a variable and as a secure variable of the same level. */
export function variableIssues(pipeline: PipelineConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const { path, level } of variableLevels(pipeline)) {
    for (const name of Object.keys(level.secureVariables ?? {})) {
      if (level.variables && Object.hasOwn(level.variables, name))
        issues.push({
          key: `${path}secureVariables.${name}`,
          message: `'${name}' is also given in ${path}variables.${name}: a name is either a variable or a secure variable`,
        });
    }
  }
  return issues;
}

/** A job's variables: names and values, and the secure values to mask in its log. */
export interface JobVariables {
  env: Record<string, string>;
  secrets: string[];
}

/**
 * The variables a job receives: the pipeline's, then the stage's, then the job's, each level
 * overriding the one before (a plain variable may override a secure one and the other way
 * round). Every secure value of these levels is masked, even one an inner level overrides.
 */
export function jobVariables(
  levels: readonly (VariableLevel | undefined)[],
  open: (sealed: string) => string,
): JobVariables {
  const env: Record<string, string> = {};
  const secrets: string[] = [];
  for (const level of levels) {
    for (const [name, value] of Object.entries(level?.variables ?? {})) env[name] = value;
    for (const [name, sealed] of Object.entries(level?.secureVariables ?? {})) {
      const value = open(sealed);
      env[name] = value;
      secrets.push(value);
    }
  }
  return { env, secrets };
}
