import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropDatabase } from './postgres.ts';
import { postgresBin, startThrowawayPostgres, type ThrowawayPostgres } from './postgres-server.ts';

let own: ThrowawayPostgres | undefined;

/**
 * vitest global setup: the PostgreSQL suites use HOIST_TEST_DATABASE_URL when it is set (CI's
 * server, started by `.ci/postgres`); otherwise the run starts a throw-away PostgreSQL of its
 * own (Debian's `initdb` and `pg_ctl` on a temporary folder and a free loopback port) and
 * removes it at the end. Without PostgreSQL installed, nothing starts and those suites fail
 * naming the package to install.
 */
export async function setup(): Promise<void> {
  // The test workers start after this and inherit it: their databases carry it in their names.
  process.env.HOIST_TEST_RUN_ID = randomBytes(6).toString('hex');
  if (process.env.HOIST_TEST_DATABASE_URL) return;
  const bin = postgresBin();
  if (!bin) return;
  own = await startThrowawayPostgres(bin);
  // The test workers are started after this and inherit it.
  process.env.HOIST_TEST_DATABASE_URL = own.url;
}

/**
 * vitest global teardown: drops the databases this run's tests made (a test run leaves nothing
 * behind in the PostgreSQL server it was given, and leaves another run's alone), and stops the
 * run's own server if it started one.
 */
export async function teardown(): Promise<void> {
  try {
    await dropTestDatabases();
  } finally {
    own?.stop();
    own = undefined;
  }
}

async function dropTestDatabases(): Promise<void> {
  const url = process.env.HOIST_TEST_DATABASE_URL;
  if (!url || own) return;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch {
    return;
  }
  try {
    const { rows } = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `hoist\\_test\\_${process.env.HOIST_TEST_RUN_ID}\\_%`,
    ]);
    for (const { datname } of rows as { datname: string }[]) {
      await dropDatabase(client, datname);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
