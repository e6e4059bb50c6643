import { compareEvr, type Evr, parseEvr } from './evr.ts';

/** Comparison operators of a version constraint. */
export type ConstraintOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** One clause, e.g. `>= 2.0`. */
export interface ConstraintClause {
  operator: ConstraintOperator;
  evr: Evr;
}

const CLAUSE = /^(=|==|!=|<=|>=|<|>)\s*(\S+)$/;

/**
 * Parses `>= 2.0, < 3` (clauses joined by commas, all must hold). A clause without a release
 * compares epoch and version only, as rpm's dependency ranges do: `>= 2.0` admits `2.0-1`.
 * @throws Error with a message fit for a validation issue.
 */
export function parseConstraint(text: string): ConstraintClause[] {
  const clauses = text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (clauses.length === 0) throw new Error(`Version constraint '${text}' is empty`);
  return clauses.map((clause) => {
    const match = CLAUSE.exec(clause);
    if (!match) {
      throw new Error(
        `Version constraint clause '${clause}' is not understood: write e.g. '>= 2.0, < 3'`,
      );
    }
    const operator = (match[1] === '==' ? '=' : match[1]) as ConstraintOperator;
    return { operator, evr: parseEvr(match[2] as string) };
  });
}

/** Does the EVR satisfy every clause? */
export function satisfies(evr: Evr, clauses: readonly ConstraintClause[]): boolean {
  return clauses.every(({ operator, evr: bound }) => {
    const subject = bound.release === undefined ? { ...evr, release: undefined } : evr;
    const cmp = compareEvr(subject, bound);
    switch (operator) {
      case '=':
        return cmp === 0;
      case '!=':
        return cmp !== 0;
      case '<':
        return cmp < 0;
      case '<=':
        return cmp <= 0;
      case '>':
        return cmp > 0;
      default:
        return cmp >= 0;
    }
  });
}
