import { describe, expect, it } from 'vitest';
import { modulesMs, Targets } from './targets.ts';

describe('bench targets', () => {
  it('prints each target with its verdict', () => {
    const t = new Targets();
    t.add('zstd', '≤ 2.5x', '2.1x', true);
    t.add('gz', '≤ 0.8x', '0.9x', false);
    t.add('scale', '< 10 %', 'n/a', undefined);
    expect(t.lines().slice(2)).toEqual([
      '| zstd | ≤ 2.5x | 2.1x | **met** |',
      '| gz | ≤ 0.8x | 0.9x | not met |',
      '| scale | < 10 % | n/a | not measured |',
    ]);
  });

  it('reads the module-loading time of each run, median', () => {
    const line = (ms: number) => `x\nhoist: startup: node 30.1 ms, modules ${ms} ms\n`;
    expect(modulesMs([line(50), line(40), line(70)])).toBe(50);
    expect(modulesMs(['nothing'])).toBeUndefined();
  });
});
