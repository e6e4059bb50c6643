import type pg from 'pg';
import { replaceNotifications } from './postgres-notifications.ts';
import { one, type Queryable, rows, type Transaction } from './postgres-query.ts';
import { samePackage, sameRepository, toPackage, toPipeline, toRepository } from './rows.ts';
import { applyTally } from './rules.ts';
import type { ConfigurationPlan, ConfigurationStore, Store } from './store.ts';

/** Repositories, packages and pipelines on PostgreSQL; a configuration applied in one transaction. */
export function postgresConfiguration(pool: pg.Pool, tx: Transaction): ConfigurationStore {
  const now = () => new Date().toISOString();
  const json = (value: unknown) => JSON.stringify(value);
  const saveRepository = (db: Queryable, row: Parameters<Store['saveRepository']>[0]) =>
    db.query(
      `INSERT INTO repositories (name, plugin, config, secrets, source, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $6)
      ON CONFLICT (name) DO UPDATE SET plugin = excluded.plugin, config = excluded.config,
        secrets = excluded.secrets, source = excluded.source,
        updated_at = CASE WHEN repositories.config = excluded.config AND repositories.secrets = excluded.secrets
          AND repositories.plugin = excluded.plugin THEN repositories.updated_at ELSE excluded.updated_at END`,
      [row.name, row.plugin, json(row.config), json(row.secrets), row.source, now()],
    );
  const savePackage = (db: Queryable, row: Parameters<Store['savePackage']>[0]) =>
    db.query(
      `INSERT INTO packages (repository, name, config, secrets, poll_interval_ms, fingerprint, source, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
      ON CONFLICT (repository, name) DO UPDATE SET config = excluded.config, secrets = excluded.secrets,
        poll_interval_ms = excluded.poll_interval_ms, fingerprint = excluded.fingerprint, source = excluded.source,
        updated_at = CASE WHEN packages.config = excluded.config AND packages.secrets = excluded.secrets
          AND packages.poll_interval_ms IS NOT DISTINCT FROM excluded.poll_interval_ms
          THEN packages.updated_at ELSE excluded.updated_at END`,
      [
        row.repository,
        row.name,
        json(row.config),
        json(row.secrets),
        row.pollIntervalMs,
        row.fingerprint,
        row.source,
        now(),
      ],
    );
  const savePipeline = (db: Queryable, row: Parameters<Store['savePipeline']>[0]) =>
    db.query(
      `INSERT INTO pipelines (name, definition, source, updated_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, source = excluded.source,
        updated_at = CASE WHEN pipelines.definition = excluded.definition THEN pipelines.updated_at ELSE excluded.updated_at END`,
      [row.name, json(row.definition), row.source, now()],
    );

  const apply = (plan: ConfigurationPlan) =>
    tx(async (c) => {
      // One apply at a time across instances: each sees the other's result whole.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('hoist:configuration'))");
      const tally = applyTally();
      const count = tally.saved;
      for (const r of plan.repositories) {
        const existing = await one(c, 'SELECT * FROM repositories WHERE name = $1', [r.name]);
        count(existing, sameRepository(existing, r));
        await saveRepository(c, r);
      }
      for (const p of plan.packages) {
        const existing = await one(
          c,
          'SELECT * FROM packages WHERE repository = $1 AND name = $2',
          [p.repository, p.name],
        );
        count(existing, samePackage(existing, p));
        await savePackage(c, p);
      }
      for (const p of plan.pipelines) {
        const existing = await one(c, 'SELECT * FROM pipelines WHERE name = $1', [p.name]);
        count(existing, existing?.definition === json(p.definition));
        await savePipeline(c, p);
      }
      const keepPackages = plan.packages.map((p) => `${p.repository}/${p.name}`);
      tally.removed(
        (
          await c.query(
            `DELETE FROM packages WHERE source = 'config' AND NOT (repository || '/' || name = ANY($1::text[]))`,
            [keepPackages],
          )
        ).rowCount as number,
      );
      tally.removed(
        (
          await c.query(
            `DELETE FROM repositories WHERE source = 'config' AND NOT (name = ANY($1::text[]))`,
            [plan.repositories.map((r) => r.name)],
          )
        ).rowCount as number,
      );
      tally.removed(
        (
          await c.query(
            `DELETE FROM pipelines WHERE source = 'config' AND NOT (name = ANY($1::text[]))`,
            [plan.pipelines.map((p) => p.name)],
          )
        ).rowCount as number,
      );
      if (plan.notifications) await replaceNotifications(c, plan.notifications);
      return tally.result();
    });

  return {
    listRepositories: async () =>
      (await rows(pool, 'SELECT * FROM repositories ORDER BY name')).map(toRepository),
    getRepository: async (name) => {
      const row = await one(pool, 'SELECT * FROM repositories WHERE name = $1', [name]);
      return row && toRepository(row);
    },
    saveRepository: async (row) => void (await saveRepository(pool, row)),
    deleteRepository: async (name) =>
      void (await pool.query('DELETE FROM repositories WHERE name = $1', [name])),
    listPackages: async (repository) =>
      (repository === undefined
        ? await rows(pool, 'SELECT * FROM packages ORDER BY repository, name')
        : await rows(pool, 'SELECT * FROM packages WHERE repository = $1 ORDER BY name', [
            repository,
          ])
      ).map(toPackage),
    getPackage: async (repository, name) => {
      const row = await one(pool, 'SELECT * FROM packages WHERE repository = $1 AND name = $2', [
        repository,
        name,
      ]);
      return row && toPackage(row);
    },
    savePackage: async (row) => void (await savePackage(pool, row)),
    deletePackage: async (repository, name) =>
      void (await pool.query('DELETE FROM packages WHERE repository = $1 AND name = $2', [
        repository,
        name,
      ])),
    listPipelines: async () =>
      (await rows(pool, 'SELECT * FROM pipelines ORDER BY name')).map(toPipeline),
    getPipeline: async (name) => {
      const row = await one(pool, 'SELECT * FROM pipelines WHERE name = $1', [name]);
      return row && toPipeline(row);
    },
    savePipeline: async (row) => void (await savePipeline(pool, row)),
    deletePipeline: async (name) =>
      void (await pool.query('DELETE FROM pipelines WHERE name = $1', [name])),
    applyConfiguration: apply,
    setPipelinePaused: async (name, paused) =>
      void (await pool.query('UPDATE pipelines SET paused = $2 WHERE name = $1', [
        name,
        paused ? 1 : 0,
      ])),
    setSchedulingError: async (name, error) =>
      void (await pool.query('UPDATE pipelines SET scheduling_error = $2 WHERE name = $1', [
        name,
        error,
      ])),
  };
}
