import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { librpmLabelCompare, requirePythonRpm } from '../../test/helpers/tools.ts';
import { compareEvr, formatEvr, parseEvr, rpmvercmp } from './evr.ts';

const cases = readFileSync(new URL('./__fixtures__/rpmvercmp-cases.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => line.split(' ') as [string, string, string]);

describe('plugins/yum/evr', () => {
  it('has all 91 cases of rpm’s rpmvercmp table', () => {
    expect(cases).toHaveLength(91);
  });

  it.each(cases)('rpmvercmp(%s, %s) = %s', (a, b, expected) => {
    expect(rpmvercmp(a, b)).toBe(Number(expected));
  });

  it('parses [epoch:]version[-release], splitting the release at the last dash', () => {
    expect(parseEvr('1.2-3')).toEqual({ epoch: '0', version: '1.2', release: '3' });
    expect(parseEvr('2:1.2-3.el9')).toEqual({ epoch: '2', version: '1.2', release: '3.el9' });
    expect(parseEvr('1.2')).toEqual({ epoch: '0', version: '1.2' });
    expect(parseEvr(':1.2-1')).toEqual({ epoch: '0', version: '1.2', release: '1' });
    expect(parseEvr('1.2-rc-1')).toEqual({ epoch: '0', version: '1.2-rc', release: '1' });
  });

  it.each([
    ['1:1.0-1', '2.0-1', 1],
    ['0:1.0-1', '1.0-1', 0],
    ['1.0-1', '1.0', 1],
    ['1.0', '1.0', 0],
    ['10:1-1', '9:99-99', 1],
    ['1.0-1.el9', '1.0-1.el9_1', -1],
    ['16.6-1.module_el9+1209+bd6e4013', '16.6-1.module_el9+807+b1de07f3', 1],
    ['9.0.0~preview.7.24406.2-0.2.el9', '9.0.0-1.el9', -1],
    ['0^20231204.gb86afe3-1.el9', '0-1.el9', 1],
  ])('compareEvr(%s, %s) = %i', (a, b, expected) => {
    expect(compareEvr(a, b)).toBe(expected);
    expect(compareEvr(b, a)).toBe(-expected || 0);
  });

  it('formats the epoch only when it is not 0', () => {
    expect(formatEvr({ epoch: '0', version: '1.0', release: '1' })).toBe('1.0-1');
    expect(formatEvr({ epoch: '3', version: '1.0', release: '1' })).toBe('3:1.0-1');
  });

  it('agrees with librpm’s labelCompare on thousands of generated pairs', () => {
    requirePythonRpm();
    const segment = fc.oneof(
      fc.stringMatching(/^[0-9]{1,3}$/),
      fc.stringMatching(/^0[0-9]{1,2}$/),
      fc.stringMatching(/^[a-zA-Z]{1,3}$/),
      fc.constantFrom('rc1', 'el9', 'fc40', 'git1', 'pre', 'post'),
    );
    const separator = fc.constantFrom('.', '.', '.', '_', '+', '~', '^', '');
    const part = fc
      .array(fc.tuple(separator, segment), { minLength: 1, maxLength: 4 })
      .map((xs) => xs.map(([s, seg], i) => (i === 0 ? seg : s + seg)).join(''));
    const evr = fc
      .tuple(
        fc.option(fc.constantFrom('0', '1', '2', '10'), { nil: undefined }),
        part,
        fc.option(part, { nil: undefined }),
      )
      .map(([e, v, r]) => `${e === undefined ? '' : `${e}:`}${v}${r === undefined ? '' : `-${r}`}`);
    // Near-equal pairs exercise the interesting branches; mutate one side slightly.
    const pair = fc.oneof(
      fc.tuple(evr, evr),
      evr.chain((a) =>
        fc.tuple(
          fc.constant(a),
          fc.constantFrom(`${a}~rc`, `${a}^g`, `${a}.0`, `${a}a`, a.replace(/\d/, '0$&')),
        ),
      ),
    );
    const pairs = fc.sample(pair, { numRuns: 5000, seed: 20261126 });
    const oracle = librpmLabelCompare(pairs);
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, ours: compareEvr(a, b), librpm: oracle[i] }))
      .filter((r) => r.ours !== r.librpm);
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(pairs.length).toBe(5000);
  });
});
