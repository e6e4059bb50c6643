import { describe, expect, it } from 'vitest';
import { PipelineConfig } from '../config/schema.ts';
import { hideSecureVariables, sealSecureVariables } from './secure-variables.ts';

let sealings = 0;
/** Seals with a counter, so that a new sealing of the same value looks different. */
const box = {
  seal: (plain: string) => `sealed${++sealings}:${plain}`,
  open: (sealed: string) => sealed.replace(/^sealed\d+:/, ''),
};

const definition = (key: string, stageKey = 'stage-key') =>
  PipelineConfig.parse({
    name: 'p',
    materials: [{ package: 'r/p' }],
    variables: { PLAIN: 'x' },
    secureVariables: { KEY: key },
    stages: [
      {
        name: 's',
        secureVariables: { S: stageKey },
        jobs: [{ name: 'j', secureVariables: { J: 'job-key' }, tasks: [{ run: 'true' }] }],
      },
    ],
  });

describe('server/catalog/secure-variables', () => {
  it('seals every secure variable at every level, and leaves the definition given alone', () => {
    const given = definition('k1');
    const sealed = sealSecureVariables(given, undefined, box);
    expect(sealed.secureVariables?.KEY).toMatch(/^sealed\d+:k1$/);
    expect(sealed.stages[0]?.secureVariables?.S).toMatch(/^sealed\d+:stage-key$/);
    expect(sealed.stages[0]?.jobs[0]?.secureVariables?.J).toMatch(/^sealed\d+:job-key$/);
    expect(sealed.variables).toEqual({ PLAIN: 'x' });
    expect(given.secureVariables?.KEY).toBe('k1');
  });

  it('keeps the sealed form of an unchanged value, and seals a changed one anew', () => {
    const first = sealSecureVariables(definition('k1'), undefined, box);
    const again = sealSecureVariables(definition('k1'), first, box);
    expect(again).toEqual(first);
    const changed = sealSecureVariables(definition('k2'), first, box);
    expect(changed.secureVariables?.KEY).toMatch(/^sealed\d+:k2$/);
    expect(changed.stages[0]?.secureVariables?.S).toBe(first.stages[0]?.secureVariables?.S);
    // A value sealed with another key (it does not open) is sealed again.
    const broken = { ...first, secureVariables: { KEY: 'garbage' } };
    const throwing = {
      ...box,
      open: () => {
        throw new Error('other key');
      },
    };
    expect(sealSecureVariables(definition('k1'), broken, throwing).secureVariables?.KEY).toMatch(
      /^sealed/,
    );
  });

  it('shows secure variables only as set, at every level', () => {
    const shown = hideSecureVariables(
      JSON.parse(JSON.stringify(sealSecureVariables(definition('k1'), undefined, box))),
    ) as PipelineConfig;
    expect(shown.secureVariables).toEqual({ KEY: 'set' });
    expect(shown.stages[0]?.secureVariables).toEqual({ S: 'set' });
    expect(shown.stages[0]?.jobs[0]?.secureVariables).toEqual({ J: 'set' });
    expect(shown.variables).toEqual({ PLAIN: 'x' });
    expect(JSON.stringify(shown)).not.toContain('sealed');
  });
});
