import {
  compareDebVersions,
  type DebVersion,
  DebVersionError,
  parseDebVersion,
} from './version.ts';

/** Debian's relations (Policy §7.1); the deprecated `<` and `>` are refused as ambiguous. */
export type Relation = '<<' | '<=' | '=' | '>=' | '>>';

/** One clause of a constraint: `>= 2.0`. */
export interface ConstraintClause {
  relation: Relation;
  version: DebVersion;
  text: string;
}

const CLAUSE = /^(<<|<=|=|>=|>>|<|>)\s*(\S+)$/;

/**
 * Parses `>= 2.0, << 3` (clauses joined by commas, all must hold), in Debian syntax; the
 * parentheses of a Depends field are allowed around each clause.
 */
export function parseConstraint(text: string): ConstraintClause[] {
  const clauses = text
    .split(',')
    .map((c) =>
      c
        .trim()
        .replace(/^\((.*)\)$/, '$1')
        .trim(),
    )
    .filter(Boolean);
  if (clauses.length === 0) throw new Error('Version constraint is empty');
  return clauses.map((clause) => {
    const match = CLAUSE.exec(clause);
    if (!match)
      throw new Error(
        `Version constraint clause '${clause}' is not 'RELATION VERSION' with RELATION one of <<, <=, =, >=, >>`,
      );
    const [, relation, version] = match as unknown as [string, string, string];
    if (relation === '<' || relation === '>')
      throw new Error(
        `Version constraint clause '${clause}': '${relation}' is deprecated and ambiguous in Debian; write '${relation}${relation}' or '${relation}='`,
      );
    try {
      return {
        relation: relation as Relation,
        version: parseDebVersion(version, { strict: true }),
        text: clause,
      };
    } catch (error) {
      if (error instanceof DebVersionError)
        throw new Error(`Version constraint clause '${clause}': ${error.message}`);
      throw error;
    }
  });
}

/** Does the version satisfy every clause? */
export function satisfies(version: DebVersion, clauses: readonly ConstraintClause[]): boolean {
  return clauses.every(({ relation, version: bound }) => {
    const c = compareDebVersions(version, bound);
    switch (relation) {
      case '<<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '=':
        return c === 0;
      case '>=':
        return c >= 0;
      default:
        return c > 0;
    }
  });
}
