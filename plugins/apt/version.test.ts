import { describe, expect, it } from 'vitest';
import {
  compareVersionStrings,
  DebVersionError,
  formatDebVersion,
  parseDebVersion,
} from './version.ts';
import { VERSION_CASES } from './version-cases.ts';

describe('dpkg version ordering', () => {
  it.each(VERSION_CASES)('%s against %s is %i', (a, b, expected) => {
    expect(compareVersionStrings(a, b)).toBe(expected);
    expect(compareVersionStrings(b, a)).toBe(-expected || 0);
  });

  it('splits epoch, upstream version and revision as dpkg does', () => {
    expect(parseDebVersion('1:2.0-3')).toEqual({ epoch: 1, upstream: '2.0', revision: '3' });
    expect(parseDebVersion('0:0:0-0-0')).toEqual({ epoch: 0, upstream: '0:0-0', revision: '0' });
    expect(parseDebVersion(' \t0:0-1  ')).toEqual({ epoch: 0, upstream: '0', revision: '1' });
    expect(parseDebVersion('2.0')).toEqual({ epoch: 0, upstream: '2.0', revision: '' });
    expect(formatDebVersion(parseDebVersion('0:1.0-1'))).toBe('1.0-1');
    expect(formatDebVersion(parseDebVersion('3:1.0'))).toBe('3:1.0');
  });

  it.each([
    '',
    '  ',
    '0:',
    '0:0-',
    '0:0 0-1',
    '-1:0-1',
    '999999999999999999999999:0-1',
    'a:0-0',
    'A:0-0',
    '-0',
    '0:-0',
  ])('refuses %j as dpkg does', (text) => {
    expect(() => parseDebVersion(text)).toThrow(DebVersionError);
  });

  it('refuses, when strict, what dpkg only warns about; accepts it otherwise, as apt does', () => {
    for (const text of ['0:abc3-0', '0:0!-0', '0:0_a-0', '0:0-0:0', '0:0-0_']) {
      expect(() => parseDebVersion(text, { strict: true }), text).toThrow(DebVersionError);
    }
    expect(parseDebVersion('III-alpha9.8').upstream).toBe('III');
  });
});
