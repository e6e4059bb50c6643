import Database from 'better-sqlite3';
import { NotFoundError } from 'hoist';
import { describe, expect, it } from 'vitest';
import { errorResponse } from './errors.ts';

/** The error a real SQLite database gives when it cannot grow. */
function sqliteFull(): unknown {
  const db = new Database(':memory:');
  db.pragma('max_page_count = 3');
  db.exec('CREATE TABLE t (v TEXT)');
  try {
    db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(1 << 20));
  } catch (error) {
    return error;
  } finally {
    db.close();
  }
  throw new Error('the database took the row');
}

describe('server/api/errors', () => {
  it('answers a full disk with a 507 of one line, and other unknown errors with a bare 500', () => {
    const full = errorResponse(sqliteFull());
    expect(full.status).toBe(507);
    expect(full.body.error.code).toBe('ERR_NO_SPACE');
    expect(full.body.error.message).not.toContain('\n');
    expect(errorResponse(Object.assign(new Error('x'), { code: 'ENOSPC' })).status).toBe(507);
    expect(errorResponse(Object.assign(new Error('x'), { code: '53100' })).status).toBe(507);
    expect(errorResponse(new Error('SELECT went wrong')).body).toEqual({
      error: { code: 'ERR_INTERNAL', message: 'Internal error; see the server log' },
    });
    expect(errorResponse(new NotFoundError('no such pipeline')).status).toBe(404);
  });
});
