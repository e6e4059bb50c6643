import { describe, expect, it } from 'vitest';
import { parseConstraint, satisfies } from './constraint.ts';
import { parseDebVersion } from './version.ts';

const holds = (constraint: string, version: string) =>
  satisfies(parseDebVersion(version), parseConstraint(constraint));

describe('Debian version constraints', () => {
  it('applies every clause with dpkg ordering', () => {
    expect(holds('>= 2.0, << 3', '2.0')).toBe(true);
    expect(holds('>= 2.0, << 3', '3~rc1')).toBe(true);
    expect(holds('>= 2.0, << 3', '3.0~rc1')).toBe(false);
    expect(holds('>= 2.0, << 3', '3')).toBe(false);
    expect(holds('>= 2.0', '2.0~beta')).toBe(false);
    expect(holds('(>> 1:0)', '2.0')).toBe(false);
    expect(holds('= 1.0', '1.0-0')).toBe(true);
    expect(holds('<= 1.0-1', '1.0')).toBe(true);
  });

  it('refuses the deprecated < and >, unknown relations and bad versions', () => {
    expect(() => parseConstraint('< 2')).toThrow(/deprecated and ambiguous in Debian; write '<<'/);
    expect(() => parseConstraint('~> 2')).toThrow(/is not 'RELATION VERSION'/);
    expect(() => parseConstraint('>= abc')).toThrow(/does not start with digit/);
    expect(() => parseConstraint(' , ')).toThrow(/empty/);
  });
});
