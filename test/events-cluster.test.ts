import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, HoistEvent } from '../server/api/schemas/index.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { subscribe } from './helpers/sse.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/**
 * Two `hoist serve` on one PostgreSQL database: a subscriber on each receives the same events,
 * whichever instance made the change, and each webhook delivery is posted once.
 */
describe('events across instances (PostgreSQL)', () => {
  let dir: string;
  let repo: StaticServer;
  let database: { url: string; drop(): Promise<void> };
  let receiver: Server;
  const posted: { delivery: string; type: string }[] = [];
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posted.push({
          delivery: String(req.headers['x-hoist-delivery']),
          type: (JSON.parse(body) as HoistEvent).type,
        });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    database = await createTestDatabase();
    const file = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: never }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - { name: verify, jobs: [{ name: a, tasks: [{ run: "true" }] }, { name: b, tasks: [{ run: "true" }] }] }
      - { name: publish, jobs: [{ name: c, tasks: [{ run: "true" }] }] }
notifications:
  - name: all
    url: "http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook"
    events: ["*"]
    secret: "cluster-webhook-secret-0123"
`);
    const env = { HOIST_SECRET_KEY: 'events-cluster-key', HOIST_LEASE_MS: '3000' };
    servers.push(
      ...(await Promise.all(
        [0, 1].map(() => startServer({ config: file, database: database.url, env: { ...env } })),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    await database?.drop().catch(() => {});
    await repo?.close();
    await new Promise((r) => receiver?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives a subscriber on each instance the same events, in the same order', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const onA = await subscribe(a.url, { query: 'types=material.*,run.*,stage.*,job.*' });
    const onB = await subscribe(b.url, { query: 'types=material.*,run.*,stage.*,job.*' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await a.api('POST', '/api/materials/check', { repository: 'internal' })).status).toBe(
      202,
    );
    const done = (list: HoistEvent[]) => list.some((e) => e.type === 'run.finished');
    const fromA = await onA.until(done);
    const fromB = await onB.until(done);
    expect(fromB).toEqual(fromA);
    const types = fromA.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'material.checked',
      'material.revision',
      'run.created',
      'stage.started',
    ]);
    expect(types.filter((t) => t === 'job.finished')).toHaveLength(3);
    expect(types.at(-1)).toBe('run.finished');
    const ids = fromA.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    onA.close();
    onB.close();

    // A late subscriber on B resumes after an event of A's stream and gets exactly the rest.
    const resumed = await subscribe(b.url, {
      lastEventId: fromA[2]?.id,
      query: 'types=material.*,run.*,stage.*,job.*',
    });
    await resumed.until((list) => list.length >= fromA.length - 3);
    expect(resumed.events).toEqual(fromA.slice(3));
    resumed.close();

    // The webhook got each event once, though both instances read the stream.
    await eventually(async () => (posted.length >= fromA.length ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(posted.map((p) => p.type)).toEqual(expect.arrayContaining(types));
    expect(posted).toHaveLength(fromA.length);
    expect(new Set(posted.map((p) => p.delivery)).size).toBe(posted.length);
    const log = (await b.api<Delivery[]>('GET', '/api/notifications/all/deliveries')).body;
    expect(log.every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
  }, 90_000);
});
