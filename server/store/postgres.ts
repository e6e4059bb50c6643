import pg from 'pg';
import { checkEvents } from '../events/derive.ts';
import { POSTGRES_MIGRATIONS } from './migrations-postgres.ts';
import { postgresAgents } from './postgres-agents.ts';
import { postgresConfiguration } from './postgres-config.ts';
import { postgresEvents, recordEvents } from './postgres-events.ts';
import { postgresNotifications } from './postgres-notifications.ts';
import { one, rows, transactions } from './postgres-query.ts';
import { postgresReads } from './postgres-reads.ts';
import { postgresRuns } from './postgres-runs.ts';
import { postgresTriggers, recordPending } from './postgres-triggers.ts';
import { postgresWork } from './postgres-work.ts';
import { toAudit, toCheck, toMaterial, toRevision } from './rows.ts';
import { CHECK_RETENTION, nextCheckAfterRecord } from './rules.ts';
import type { Store, StoredRevision } from './store.ts';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** Connections in the pool; default 10. */
  max?: number;
  /** Reports errors of idle connections (the database restarted, the network dropped). */
  onError?: (error: Error) => void;
}

/** The URL with its password hidden, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the database URL';
  }
}

/**
 * Opens the PostgreSQL store at `url` (`postgres://user:password@host:port/db`), migrating the
 * schema first; several instances may start at once (the migration takes an advisory lock).
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  pool.on('error', (error) => options.onError?.(error));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the database ${redactDatabaseUrl(url)}: ${reason}`);
  }

  const now = () => new Date().toISOString();
  const json = (value: unknown) => JSON.stringify(value);
  const tx = transactions(pool);
  const { close: closeEvents, ...events } = postgresEvents(url, pool, tx, (error) =>
    options.onError?.(error),
  );

  const record = (result: Parameters<Store['recordCheck']>[0]) =>
    tx(async (c) => {
      const discoveredAt = now();
      const inserted: StoredRevision[] = [];
      for (const r of result.revisions) {
        const row = await one(
          c,
          `INSERT INTO revisions (fingerprint, revision, timestamp, "user", comment, trackback_url, data, discovered_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
          ON CONFLICT (fingerprint, revision) DO NOTHING RETURNING *`,
          [
            result.fingerprint,
            r.revision,
            r.timestamp,
            r.user ?? null,
            r.comment ?? null,
            r.trackbackUrl ?? null,
            json(r.data),
            discoveredAt,
          ],
        );
        if (row) inserted.push(toRevision(row));
      }
      await c.query(
        `UPDATE materials SET state = COALESCE($2, state), last_check_at = $3,
          next_check_at = ${nextCheckAfterRecord('$4')},
          last_error = $5, last_error_code = $6, failures = $7,
          lease_owner = CASE WHEN lease_owner = $8 THEN NULL ELSE lease_owner END,
          lease_until = CASE WHEN lease_owner = $8 THEN NULL ELSE lease_until END
        WHERE fingerprint = $1`,
        [
          result.fingerprint,
          result.state === undefined ? null : json(result.state),
          result.check.startedAt,
          result.nextCheckAt,
          result.lastError,
          result.lastErrorCode,
          result.failures,
          result.owner,
        ],
      );
      const { check } = result;
      await c.query(
        `INSERT INTO checks (fingerprint, started_at, duration_ms, outcome, new_revisions, error_code, error, decision, trigger, instance)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          result.fingerprint,
          check.startedAt,
          check.durationMs,
          check.outcome,
          json(inserted.map((r) => r.revision)),
          check.errorCode,
          check.error,
          check.decision,
          check.trigger,
          check.instance,
        ],
      );
      await c.query(
        `DELETE FROM checks WHERE fingerprint = $1 AND id <= (
          SELECT id FROM checks WHERE fingerprint = $1 ORDER BY id DESC LIMIT 1 OFFSET ${CHECK_RETENTION})`,
        [result.fingerprint],
      );
      const pending =
        inserted.length === 0
          ? undefined
          : await recordPending(
              c,
              {
                fingerprint: result.fingerprint,
                revisionIds: inserted.map((r) => r.id),
                checkTrigger: check.trigger,
              },
              { owner: result.owner, until: result.leaseUntil ?? null },
            );
      const material = await one(
        c,
        'SELECT repository, name FROM packages WHERE fingerprint = $1',
        [result.fingerprint],
      );
      await recordEvents(
        c,
        checkEvents(
          material && { repository: String(material.repository), package: String(material.name) },
          check,
          inserted,
        ),
      );
      return { inserted, ...(pending === undefined ? {} : { pending }) };
    });

  return {
    kind: 'postgres',
    ...postgresConfiguration(pool, tx),
    ensureMaterial: async (fingerprint, plugin, nextCheckAt) =>
      void (await pool.query(
        `INSERT INTO materials (fingerprint, plugin, next_check_at) VALUES ($1, $2, $3)
        ON CONFLICT (fingerprint) DO NOTHING`,
        [fingerprint, plugin, nextCheckAt],
      )),
    getMaterial: async (fingerprint) => {
      const row = await one(pool, 'SELECT * FROM materials WHERE fingerprint = $1', [fingerprint]);
      return row && toMaterial(row);
    },
    listMaterials: async () =>
      (await rows(pool, 'SELECT * FROM materials ORDER BY fingerprint')).map(toMaterial),
    scheduleMaterial: async (fingerprint, nextCheckAt, trigger) =>
      void (await pool.query(
        'UPDATE materials SET next_check_at = $2, due_trigger = $3 WHERE fingerprint = $1',
        [fingerprint, nextCheckAt, trigger ?? null],
      )),
    recordCheck: record,
    latestRevision: async (fingerprint) => {
      const row = await one(
        pool,
        'SELECT * FROM revisions WHERE fingerprint = $1 ORDER BY id DESC LIMIT 1',
        [fingerprint],
      );
      return row && toRevision(row);
    },
    listRevisions: async (fingerprint, limit) =>
      (
        await rows(
          pool,
          'SELECT * FROM revisions WHERE fingerprint = $1 ORDER BY id DESC LIMIT $2',
          [fingerprint, limit],
        )
      ).map(toRevision),
    listChecks: async (fingerprint, limit) =>
      (
        await rows(pool, 'SELECT * FROM checks WHERE fingerprint = $1 ORDER BY id DESC LIMIT $2', [
          fingerprint,
          limit,
        ])
      ).map(toCheck),
    latestRevisions: async () =>
      (
        await rows(
          pool,
          'SELECT DISTINCT ON (fingerprint) * FROM revisions ORDER BY fingerprint, id DESC',
        )
      ).map(toRevision),
    // One round trip: each material's last checks through the (fingerprint, id) index.
    recentChecks: async (limit) =>
      (
        await rows(
          pool,
          `SELECT c.* FROM materials m CROSS JOIN LATERAL (
            SELECT * FROM checks WHERE fingerprint = m.fingerprint ORDER BY id DESC LIMIT $1) c
          ORDER BY c.fingerprint, c.id DESC`,
          [limit],
        )
      ).map(toCheck),
    ...postgresRuns(pool, tx),
    ...postgresReads(pool),
    ...postgresWork(pool, tx),
    ...postgresTriggers(pool, tx),
    ...postgresAgents(pool, tx),
    addAudit: async (entry) =>
      void (await pool.query(
        'INSERT INTO audit (at, actor, action, target, outcome) VALUES ($1, $2, $3, $4, $5)',
        [entry.at, entry.actor, entry.action, entry.target, entry.outcome],
      )),
    listAudit: async (limit) =>
      (await rows(pool, 'SELECT * FROM audit ORDER BY id DESC LIMIT $1', [limit])).map(toAudit),
    ...events,
    ...postgresNotifications(pool, tx),
    close: async () => {
      await closeEvents();
      await pool.end();
    },
  };
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Several instances may start together: one migrates, the others wait and find it done.
    await client.query("SELECT pg_advisory_lock(hashtext('hoist:migrate'))");
    await client.query('CREATE TABLE IF NOT EXISTS hoist_schema (version INTEGER NOT NULL)');
    const row = (await client.query('SELECT version FROM hoist_schema')).rows[0] as
      | { version: number }
      | undefined;
    const version = row?.version ?? 0;
    if (!row) await client.query('INSERT INTO hoist_schema (version) VALUES (0)');
    if (version > POSTGRES_MIGRATIONS.length) {
      throw new Error(
        `the database is at schema version ${version}, newer than this Hoist (${POSTGRES_MIGRATIONS.length})`,
      );
    }
    for (let v = version; v < POSTGRES_MIGRATIONS.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(POSTGRES_MIGRATIONS[v] as string);
        await client.query('UPDATE hoist_schema SET version = $1', [v + 1]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext('hoist:migrate'))").catch(() => {});
    client.release();
  }
}
