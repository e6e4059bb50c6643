import pg from 'pg';

/**
 * vitest global teardown: drops the databases the tests made (a test run leaves nothing behind
 * in the PostgreSQL server it was given). Without a reachable server there is nothing to drop:
 * the tests that needed it have failed and said why.
 */
export async function teardown(): Promise<void> {
  const url = process.env.HOIST_TEST_DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch {
    return;
  }
  try {
    const { rows } = await client.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'hoist\\_test\\_%'`,
    );
    for (const { datname } of rows as { datname: string }[]) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
