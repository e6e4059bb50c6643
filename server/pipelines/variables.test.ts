import { describe, expect, it } from 'vitest';
import { PipelineConfig } from '../config/schema.ts';
import { jobVariables, variableIssues } from './variables.ts';

const open = (sealed: string) => sealed.replace(/^sealed:/, '');

describe('server/pipelines/variables', () => {
  it('gives a job the innermost value: job over stage over pipeline, secure or not', () => {
    const { env, secrets } = jobVariables(
      [
        { variables: { A: 'p', B: 'p', C: 'p' }, secureVariables: { KEY: 'sealed:k-pipeline' } },
        { variables: { B: 's', KEY: 'plain-now' } },
        { variables: { C: 'j' }, secureVariables: { B: 'sealed:b-secret' } },
      ],
      open,
    );
    expect(env).toEqual({ A: 'p', B: 'b-secret', C: 'j', KEY: 'plain-now' });
    // Every secure value of the levels is masked, even one an inner level overrides.
    expect(secrets).toEqual(['k-pipeline', 'b-secret']);
    expect(jobVariables([undefined, undefined, undefined], open)).toEqual({ env: {}, secrets: [] });
  });

  it('refuses a name given as a variable and a secure variable of the same level, naming both', () => {
    const pipeline = PipelineConfig.parse({
      name: 'p',
      materials: [{ package: 'r/p' }],
      variables: { X: '1' },
      secureVariables: { X: '2', Y: '3' },
      stages: [
        {
          name: 's',
          secureVariables: { X: '4' },
          jobs: [
            {
              name: 'j',
              variables: { Z: '5' },
              secureVariables: { Z: '6' },
              tasks: [{ run: 'true' }],
            },
          ],
        },
      ],
    });
    expect(variableIssues(pipeline)).toEqual([
      {
        key: 'secureVariables.X',
        message:
          "'X' is also given in variables.X: a name is either a variable or a secure variable",
      },
      {
        key: 'stages[0].jobs[0].secureVariables.Z',
        message:
          "'Z' is also given in stages[0].jobs[0].variables.Z: a name is either a variable or a secure variable",
      },
    ]);
  });

  it('takes environment names only, and refuses HOIST_ names, values written as text', () => {
    const result = PipelineConfig.safeParse({
      name: 'p',
      materials: [{ package: 'r/p' }],
      variables: { '1BAD': 'x', 'with-dash': 'y', HOIST_STAGE_NAME: 'z', OK_1: 2, ON: true },
      stages: [{ name: 's', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "variables.1BAD: '1BAD' is not an environment variable name: letters, digits and _, not a digit first",
      "variables.with-dash: 'with-dash' is not an environment variable name: letters, digits and _, not a digit first",
      'variables.HOIST_STAGE_NAME: names beginning HOIST_ are set by Hoist itself (HOIST_PIPELINE_NAME, HOIST_PACKAGE_…); choose another name',
    ]);
    const fine = PipelineConfig.parse({
      name: 'p',
      materials: [{ package: 'r/p' }],
      variables: { COUNT: 2, ON: true },
      stages: [{ name: 's', jobs: [{ name: 'j', tasks: [{ run: 'true' }] }] }],
    });
    expect(fine.variables).toEqual({ COUNT: '2', ON: 'true' });
  });

  it('says what is wrong with a task runIf or onCancel', () => {
    const task = (t: unknown) =>
      PipelineConfig.safeParse({
        name: 'p',
        materials: [{ package: 'r/p' }],
        stages: [{ name: 's', jobs: [{ name: 'j', tasks: [t] }] }],
      }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(task({ run: 'x', runIf: 'sometimes' })).toEqual([
      'stages.0.jobs.0.tasks.0: runIf: must be passed, failed or any',
    ]);
    expect(task({ exec: ['x'], onCancel: { run: 'y', runIf: 'any' } })).toEqual([
      'stages.0.jobs.0.tasks.0.onCancel: Unrecognized key: "runIf"',
    ]);
    expect(task({ script: 'x' })).toEqual([
      "stages.0.jobs.0.tasks.0: a task is either { run: 'a shell script' }, { exec: [command, argument, …] } or { fetch: 'repository/package', to: 'file or folder/' }",
    ]);
    expect(task({ run: 'x', runIf: 'any', onCancel: { exec: ['undo'] } })).toBeUndefined();
  });
});
