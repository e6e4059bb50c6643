import { createHmac, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, HoistEvent, Notification } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { subscribe } from './helpers/sse.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const SECRET = 'webhook-secret-5f3a9c1e77d2';
const VIEWER = 'viewer-token-for-webhook-tests';

interface Received {
  path: string;
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The receiver's check, as a receiver would write it (README's snippet). */
function verify(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = String(headers['x-hoist-timestamp']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  const given = String(headers['x-hoist-signature'] ?? '');
  return (
    given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
  );
}

/** Every row of the tables that hold webhooks, deliveries and events, as text. */
async function databaseText(url: string): Promise<string> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const tables = ['notifications', 'deliveries', 'events', 'settings'];
    const texts: string[] = [];
    for (const t of tables) texts.push(JSON.stringify((await db.query(`SELECT * FROM ${t}`)).rows));
    return texts.join('\n');
  } finally {
    await db.end();
  }
}

describe('webhooks (server process, loopback receivers)', () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;
  let receiver: Server;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ path: req.url ?? '', at: Date.now(), headers: req.headers, body });
        res.statusCode = req.url === '/fail' ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    server = await startServer({
      env: {
        HOOK_SECRET: SECRET,
        VIEWER_TOKEN: VIEWER,
        HOIST_WEBHOOK_ATTEMPTS: '3',
        HOIST_WEBHOOK_BACKOFF_MS: '400',
      },
      config: writeConfig(`
auth:
  tokens: [{ name: watcher, role: viewer, token: "\${env:VIEWER_TOKEN}" }]
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: never }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - { name: verify, jobs: [{ name: test, tasks: [{ run: "true" }] }] }
      - { name: release, approval: manual, jobs: [{ name: ship, tasks: [{ run: "true" }] }] }
notifications:
  - { name: chat, url: "${hook}/ok", events: ["stage.*", run.created], secret: "\${env:HOOK_SECRET}" }
  - { name: broken, url: "${hook}/fail", events: [run.created], secret: "\${env:HOOK_SECRET}" }
  - { name: slack, url: "${hook}/slack/T000/B000/XXXX", events: [stage.awaiting], format: slack }
  - { name: metadata, url: "http://169.254.169.254/latest", events: [run.created] }
`),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    await new Promise((r) => receiver?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses file: and other schemes in the configuration, naming the field', async () => {
    await expect(
      startServer({
        config: writeConfig(`
notifications:
  - { name: local, url: "file:///etc/passwd", events: ["*"] }
  - { name: typo, url: "https://x.example", events: [stage.nothing] }
`),
      }),
    ).rejects.toThrow(
      /notifications\[0\]\.url: must be an http: or https: URL[\s\S]*notifications\[1\]\.events\[0\]: no event type matches 'stage.nothing'/,
    );
  });

  it('posts signed deliveries of the chosen events, and retries a failing receiver with back-off', async () => {
    const admin = await subscribe(server.url, { query: 'types=notification.*' });
    const viewer = await subscribe(server.url, { token: VIEWER });
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    const chat = await eventually(async () => {
      const list = received.filter((r) => r.path === '/ok');
      return list.length >= 4 ? list : undefined;
    }, 20_000);
    // Deliveries are posted side by side: in the order of their events' ids, not of arrival.
    const events = chat
      .map((r) => JSON.parse(r.body) as HoistEvent)
      .sort((a, b) => Number(a.id) - Number(b.id));
    expect(events.map((e) => `${e.type} ${e.stage ?? ''}`.trim())).toEqual([
      'run.created',
      'stage.started verify',
      'stage.passed verify',
      'stage.awaiting release',
    ]);
    for (const r of chat) {
      expect(verify(SECRET, r.headers, r.body)).toBe(true);
      expect(verify('another-secret-0000', r.headers, r.body)).toBe(false);
      expect(r.headers['x-hoist-event']).toBe(JSON.parse(r.body).type);
      expect(r.headers['x-hoist-delivery']).toMatch(/^\d+$/);
      expect(Math.abs(Number(r.headers['x-hoist-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(new Set(chat.map((r) => r.headers['x-hoist-delivery'])).size).toBe(4);
    // Slack's body, unsigned (no secret).
    const slack = await eventually(async () => received.find((r) => r.path.startsWith('/slack')));
    expect(JSON.parse(slack.body)).toEqual({
      text: 'Hoist: build #1  stage release awaiting approval',
    });
    expect(slack.headers['x-hoist-signature']).toBeUndefined();

    // The failing receiver: three attempts, each wait longer than the one before.
    const failed = await eventually(async () => {
      const list = (await server.api<Delivery[]>('GET', '/api/notifications/broken/deliveries'))
        .body;
      return list[0]?.status === 'failed' ? list : undefined;
    }, 20_000);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      type: 'run.created',
      attempts: 3,
      responseCode: 500,
      lastError: 'HTTP 500',
      nextAttemptAt: null,
    });
    const attempts = received.filter((r) => r.path === '/fail').map((r) => r.at);
    expect(attempts).toHaveLength(3);
    const gaps = [attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!];
    expect(gaps[0]).toBeGreaterThanOrEqual(380);
    expect(gaps[1]).toBeGreaterThanOrEqual(780);
    expect(
      new Set(received.filter((r) => r.path === '/fail').map((r) => r.headers['x-hoist-delivery']))
        .size,
    ).toBe(1);

    // The metadata address is refused without a request.
    const metadata = await eventually(async () => {
      const list = (await server.api<Delivery[]>('GET', '/api/notifications/metadata/deliveries'))
        .body;
      return list[0]?.status === 'failed' ? list : undefined;
    }, 20_000);
    expect(metadata[0]?.lastError).toMatch(
      /^refused: 169\.254\.169\.254 is a link-local or metadata address/,
    );
    expect(metadata[0]?.responseCode).toBeNull();

    const ok = (await server.api<Delivery[]>('GET', '/api/notifications/chat/deliveries')).body;
    expect(ok.map((d) => [d.status, d.attempts, d.responseCode])).toEqual(
      Array(4).fill(['delivered', 1, 204]),
    );
    // Operators see delivery events on the stream; viewers do not.
    await admin.until((list) =>
      list.some((e) => e.type === 'notification.failed' && e.message?.includes('gave up')),
    );
    expect(
      admin.events.some((e) => e.type === 'notification.delivered' && e.notification === 'chat'),
    ).toBe(true);
    expect(viewer.events.some((e) => e.type.startsWith('notification.'))).toBe(false);
    expect(viewer.events.length).toBeGreaterThan(0);
    admin.close();
    viewer.close();
  }, 60_000);

  it('lists the webhooks without their secret or URL path, for operators only', async () => {
    const { status, body } = await server.api<Notification[]>('GET', '/api/notifications');
    expect(status).toBe(200);
    expect(body.map((n) => [n.name, n.url, n.signed, n.format])).toEqual([
      ['broken', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/…$/), true, 'json'],
      ['chat', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/…$/), true, 'json'],
      ['metadata', 'http://169.254.169.254/…', false, 'json'],
      ['slack', expect.stringMatching(/\/…$/), false, 'slack'],
    ]);
    expect((await server.api('GET', '/api/notifications', undefined, VIEWER)).status).toBe(403);
    expect((await server.api('GET', '/api/notifications/none/deliveries')).status).toBe(404);
  });

  it('never shows the secret or the Slack URL in the log, the API or the database', async () => {
    const answers = await Promise.all(
      [
        '/api/notifications',
        '/api/notifications/chat/deliveries',
        '/api/notifications/slack/deliveries',
        '/docs/json',
      ].map(async (path) => JSON.stringify((await server.api('GET', path)).body)),
    );
    const replay = await subscribe(server.url, { query: 'since=0' });
    await replay.until((list) => list.some((e) => e.type === 'notification.failed'));
    replay.close();
    const files = server.database
      ? [await databaseText(server.database)]
      : readdirSync(server.dataDir)
          .filter((f) => f.startsWith('hoist.db'))
          .map((f) => readFileSync(join(server.dataDir, f)).toString('latin1'));
    for (const text of [server.output(), ...answers, JSON.stringify(replay.events), ...files]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('T000/B000/XXXX');
    }
    expect(files.length).toBeGreaterThan(0);
  });
});
