import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresBin, startThrowawayPostgres } from './helpers/postgres-server.ts';

describe("the test run's own PostgreSQL (used when HOIST_TEST_DATABASE_URL is not set)", () => {
  it('starts on a free loopback port, takes databases, and leaves nothing behind', async () => {
    const bin = postgresBin();
    if (!bin) throw new Error('PostgreSQL is not installed: apt-get install postgresql');
    const server = await startThrowawayPostgres(bin);
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    expect(existsSync(server.dir)).toBe(true);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query('CREATE DATABASE hoist_throwaway_check');
      const { rows } = await client.query(
        "SELECT count(*)::int AS n FROM pg_database WHERE datname = 'hoist_throwaway_check'",
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
    server.stop();
    expect(existsSync(server.dir)).toBe(false);
    const after = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2000 });
    await expect(after.connect()).rejects.toThrow();
  }, 60_000);
});
