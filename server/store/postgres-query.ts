import type pg from 'pg';

/** A connection or the pool: what a query runs on. */
export type Queryable = pg.Pool | pg.PoolClient;
/** A result row. */
export type Row = Record<string, unknown>;
/** Runs `fn` in one transaction on one connection: committed whole, or rolled back. */
export type Transaction = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

/** The rows of a query. */
export async function rows(db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> {
  return (await db.query(sql, params)).rows as Row[];
}

/** The first row of a query, if any. */
export async function one(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
): Promise<Row | undefined> {
  return (await rows(db, sql, params))[0];
}

/** Transactions on connections of `pool`. */
export function transactions(pool: pg.Pool): Transaction {
  return async (fn) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

// Map.groupBy arrives with Node 21.
/** Items grouped by `key`, in their order. */
export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
