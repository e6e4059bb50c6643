import pg from 'pg';

/**
 * PostgreSQL for tests: HOIST_TEST_DATABASE_URL names a role that may create databases
 * (`.ci/postgres` starts Debian's server and prints one). Each test gets a database of its own.
 */
export function postgresUrl(): string {
  const url = process.env.HOIST_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'no PostgreSQL for the tests: install the Debian package postgresql (the test run then starts its own), or set HOIST_TEST_DATABASE_URL to a role that may create databases',
    );
  }
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) {
    throw new Error(`HOIST_TEST_DATABASE_URL is not a postgres:// URL: ${JSON.stringify(url)}`);
  }
  return url;
}

let counter = 0;

/** A new empty database; `drop` removes it (closing what still uses it). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = postgresUrl();
  // The run's id first (set by the global setup), so that its teardown drops only its own.
  const run = /^[a-z0-9]{1,12}$/.test(process.env.HOIST_TEST_RUN_ID ?? '')
    ? process.env.HOIST_TEST_RUN_ID
    : 'x';
  const name = `hoist_test_${run}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await dropDatabase(client, name);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Drops a test database, closing its connections. A connection of another role (a backend
 * left by an earlier, killed test run) cannot be closed by the test role: the drop is tried a
 * few times, then the database is left to the end-of-run drop with a warning, since a test's
 * result does not depend on its clean-up.
 */
export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== '42501' && code !== '55006') throw error;
      if (attempt >= 5) {
        console.warn(`test database ${name} is left for later: ${(error as Error).message}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** Which store the end-to-end servers use: `HOIST_TEST_STORE=postgres` selects PostgreSQL. */
export function testStoreKind(): 'sqlite' | 'postgres' {
  return process.env.HOIST_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
}

/** Every row of every table of a database, as text: to look for what must not be stored. */
export async function databaseText(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    let text = '';
    for (const { table_name: table } of tables.rows as { table_name: string }[]) {
      const rows = await client.query(`SELECT t::text AS row FROM "${table}" t`);
      for (const { row } of rows.rows as { row: string }[]) text += `${row}\n`;
    }
    return text;
  } finally {
    await client.end();
  }
}
