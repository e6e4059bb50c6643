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
  const name = `hoist_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
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
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
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
