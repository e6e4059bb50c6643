import { describe, expect, it } from 'vitest';
import { compareVersionStrings } from '../plugins/apt/version.ts';
import { VERSION_CASES } from '../plugins/apt/version-cases.ts';
import { dpkgCompare } from './helpers/deb-repo.ts';

/** The port of dpkg's ordering against `dpkg --compare-versions` itself. */

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const pick = (next: () => number, items: string) => items[Math.floor(next() * items.length)] ?? '';

/** Versions built from the pieces that make ordering hard: ~, letters, symbols, zeros, epochs. */
function version(next: () => number): string {
  const part = (chars: string, length: number) => {
    let text = '';
    for (let i = 0; i < length; i++) text += pick(next, chars);
    return text;
  };
  const epoch = next() < 0.3 ? `${Math.floor(next() * 3)}:` : '';
  const upstream = pick(next, '0123456789') + part('0019.~+aZz', Math.floor(next() * 6));
  const withColon = epoch && next() < 0.1 ? `${upstream}:1` : upstream;
  const withHyphen = next() < 0.15 ? `${withColon}-${part('01a~', 2)}` : withColon;
  const revision = next() < 0.6 ? `-${part('0123456789.+~ab', 1 + Math.floor(next() * 4))}` : '';
  return `${epoch}${withHyphen}${revision}`;
}

describe('dpkg version ordering against dpkg --compare-versions', () => {
  it('agrees on the fixed cases', () => {
    const pairs = VERSION_CASES.map(([a, b]) => [a, b] as [string, string]);
    expect(dpkgCompare(pairs)).toEqual(VERSION_CASES.map(([, , expected]) => expected));
  });

  it('agrees on 4,000 generated pairs', () => {
    const next = random(20261201);
    const pairs: [string, string][] = [];
    for (let i = 0; i < 4000; i++) {
      const a = version(next);
      // Half the pairs are near misses: the same version with one piece changed.
      const b = next() < 0.5 ? version(next) : a.replace(/[0-9~a.]$/, pick(next, '0~a.+'));
      pairs.push([a, b]);
    }
    const expected = dpkgCompare(pairs);
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, dpkg: expected[i], port: compareVersionStrings(a, b) }))
      .filter((r) => r.dpkg !== r.port);
    expect(disagreements).toEqual([]);
    // The generator must make every answer often, or the test proves little.
    for (const answer of [-1, 0, 1]) {
      expect(expected.filter((e) => e === answer).length).toBeGreaterThan(150);
    }
  }, 120_000);
});
