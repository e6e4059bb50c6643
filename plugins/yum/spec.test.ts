import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConstraint, satisfies } from './constraint.ts';
import { parseEvr } from './evr.ts';
import { globToRegExp, parsePackageSpec, specProblems } from './spec.ts';

const pkg = { name: 'my-app', epoch: '2', version: '1.2', release: '3.el9', arch: 'x86_64' };

describe('plugins/yum/spec', () => {
  it.each([
    'my-app',
    'my-app.x86_64',
    'my-app-1.2',
    'my-app-1.2-3.el9',
    'my-app-1.2-3.el9.x86_64',
    'my-app-2:1.2-3.el9.x86_64',
    '2:my-app-1.2-3.el9.x86_64',
    'my-*',
    'my-app-1.*',
    'my-app-?.2',
    'my-[a-z]pp',
    'my-[!b]pp',
  ])('%s matches', (spec) => {
    const parsed = parsePackageSpec(spec);
    expect(parsed.matches(pkg)).toBe(true);
    expect(parsed.nameMayMatch('my-app')).toBe(true);
  });

  it.each(['my', 'my-app.i686', 'my-app-1.3', 'my-app-0:1.2-3.el9.x86_64', 'other*', 'my-[!a]pp'])(
    '%s does not match',
    (spec) => {
      expect(parsePackageSpec(spec).matches(pkg)).toBe(false);
    },
  );

  it('narrows the names worth reading', () => {
    const exact = parsePackageSpec('my-app-1.2');
    expect(['my-app-1.2', 'my-app', 'my'].map((n) => exact.nameMayMatch(n))).toEqual([
      true,
      true,
      true,
    ]);
    expect(['other', 'my-ap', 'my-app-'].map((n) => exact.nameMayMatch(n))).toEqual([
      false,
      false,
      false,
    ]);
    const glob = parsePackageSpec('my-app-1.*');
    expect(['my-app', 'my-app-1.x', 'my', 'myx'].map((n) => glob.nameMayMatch(n))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(parsePackageSpec('*app').nameMayMatch('anything')).toBe(true);
    expect(parsePackageSpec('2:my-app-1.2-3.el9.x86_64').nameMayMatch('my-app')).toBe(true);
  });

  it('names the prefix every name worth reading starts with', () => {
    expect(parsePackageSpec('libbench-core.aarch64').namePrefix).toBe('libbench');
    expect(parsePackageSpec('my-app-1.*').namePrefix).toBe('my');
    expect(parsePackageSpec('python3*').namePrefix).toBe('python3');
    expect(parsePackageSpec('*app').namePrefix).toBe('');
    // Specs and names built from the same pieces, so that many names may match.
    const piece = fc.constantFrom('a', 'b', 'ab', '-', '.', '1', '2:', '*', '?', '[ab]', '~');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.array(piece), (s, n) => {
        const text = s.join('');
        fc.pre(specProblems(text).length === 0);
        const spec = parsePackageSpec(text);
        for (const name of [n.join(''), text.slice(0, n.length), `${text}${n.join('')}`]) {
          if (spec.nameMayMatch(name)) expect(name.startsWith(spec.namePrefix)).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('reports bad specs', () => {
    expect(specProblems('')).toEqual(['Package spec is empty']);
    expect(specProblems('a b')).toEqual(['Package spec must not contain white space']);
    expect(specProblems('a,b')).toEqual([
      'Package spec must name one package; commas are not allowed',
    ]);
    expect(specProblems('a[b')).toEqual(["Package spec 'a[b' has an unclosed '['"]);
    expect(specProblems('app-1.*')).toEqual([]);
  });

  it('escapes regular-expression characters', () => {
    expect(globToRegExp('c++-libs.x86_64').test('c++-libs.x86_64')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('plugins/yum/constraint', () => {
  const ok = (evr: string, constraint: string) =>
    satisfies(parseEvr(evr), parseConstraint(constraint));

  it('applies every clause', () => {
    expect(ok('2.0-1', '>= 2.0, < 3')).toBe(true);
    expect(ok('2.9.9-1', '>= 2.0, < 3')).toBe(true);
    expect(ok('3.0-1', '>= 2.0, < 3')).toBe(false);
    expect(ok('3~rc1-1', '< 3')).toBe(true);
    expect(ok('3.0~rc1-1', '< 3')).toBe(false);
    expect(ok('1.9-1', '>= 2.0')).toBe(false);
    expect(ok('2.0-5', '= 2.0')).toBe(true);
    expect(ok('2.0-5', '== 2.0-4')).toBe(false);
    expect(ok('2.0-5', '!= 2.0-4')).toBe(true);
    expect(ok('1:1.0-1', '< 3')).toBe(false);
    expect(ok('1:1.0-1', '< 1:3')).toBe(true);
  });

  it('rejects what it does not understand', () => {
    expect(() => parseConstraint('~> 2')).toThrow(
      "Version constraint clause '~> 2' is not understood: write e.g. '>= 2.0, < 3'",
    );
    expect(() => parseConstraint(' , ')).toThrow('is empty');
  });
});
