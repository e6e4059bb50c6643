import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import {
  hasEventStream,
  launchChromium,
  signIn as openDashboard,
  subscribe,
  unexpectedErrors,
  type WatchedPage,
} from './helpers/browser.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const SHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const VIEWER = 'viewer-token-for-the-dashboard';
const OPERATOR = 'operator-token-for-the-dashboard';
const DASHBOARD_SECRET = 'dashboard-secret-value-1';

describe('dashboard in a real browser (Debian Chromium)', () => {
  let repo: string;
  let server: ServerProcess;
  let receiver: Server;
  let browser: Browser;
  // Every page a test opens: none may log a console error or throw.
  let opened: WatchedPage[] = [];
  let stream = false;

  const runs = async (p: string) =>
    (await server.api<Run[]>('GET', `/api/pipelines/${p}/runs`)).body;
  async function signIn(token: string, width = 1200): Promise<Page> {
    const watched = await openDashboard(browser, server.url, token, width);
    opened.push(watched);
    return watched.page;
  }

  afterEach(async () => {
    const errors = unexpectedErrors(opened, stream);
    await Promise.all(opened.map((w) => w.page.close().catch(() => undefined)));
    opened = [];
    expect(errors).toEqual([]);
  });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    // A webhook receiver on loopback: /ok takes every delivery, /fail refuses them.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = req.url === '/fail' ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    server = await startServer({
      env: { HOIST_WEBHOOK_ATTEMPTS: '2', HOIST_WEBHOOK_BACKOFF_MS: '300' },
      config: writeConfig(`
auth:
  tokens:
    - { name: watcher, role: viewer, token: "${VIEWER}" }
    - { name: olivia, role: operator, token: "${OPERATOR}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages:
      - { name: verify, jobs: [{ name: test, tasks: [{ run: "echo tested $HOIST_PACKAGE_INTERNAL_APP_LABEL" }] }] }
  - name: deploy
    materials: [{ pipeline: build, stage: verify }]
    variables: { REGION: eu-1 }
    secureVariables: { DEPLOY_KEY: "${DASHBOARD_SECRET}" }
    stages:
      - { name: production, approval: manual, jobs: [{ name: install, tasks: [{ run: "echo installing $HOIST_PACKAGE_INTERNAL_APP_LABEL" }] }] }
  - name: chatty
    materials: [{ package: internal/app }]
    stages:
      - { name: talk, jobs: [{ name: lines, tasks: [{ run: "for i in 1 2 3 4 5; do echo line $i; sleep 1; done" }] }] }
  - name: nightly
    template: nightly-deploy
    parameters: { target: staging }
    timer: { cron: '0 2 * * *', timezone: Europe/Berlin, onlyOnChanges: true }
    materials: [{ pipeline: build, stage: verify }]
notifications:
  - { name: team, url: "${hook}/ok", events: [stage.awaiting, run.created] }
  - { name: broken, url: "${hook}/fail", events: [stage.awaiting] }
templates:
  - name: nightly-deploy
    parameters: [target]
    stages:
      - { name: '#{target}', approval: manual, jobs: [{ name: install, tasks: [{ run: "echo to #{target}" }] }] }
`),
    });
    browser = await launchChromium();
    stream = await hasEventStream(server.url, ADMIN_TOKEN);
    await eventually(
      async () => ((await runs('deploy'))[0]?.status === 'waiting' ? true : undefined),
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    rmSync(repo, { recursive: true, force: true });
  });

  it('lists the runs, with their stages, revisions and actions', async () => {
    const page = await signIn(ADMIN_TOKEN);
    const build = page.getByRole('region', { name: 'Pipeline build' });
    await build.getByText('app-1.0-1.noarch').first().waitFor();
    await expect(build.getByText('verify: passed').count()).resolves.toBe(1);
    await page.getByRole('button', { name: 'Approve production of deploy 1' }).waitFor();
    // Grouped by dependencies: build, then what follows it, each saying what it comes after.
    const chain = page.getByRole('region', { name: 'Delivery chain build' });
    expect(await chain.locator('h2.chain').textContent()).toMatch(
      /^build→deploy→nightly$|^build→nightly→deploy$/,
    );
    const deploy = page.getByRole('region', { name: 'Pipeline deploy' });
    await deploy.getByText('after build').waitFor();
    // Each run: its start (relative, the exact time on hover), duration and trigger.
    const started = build.locator('li.run time').first();
    expect(await started.getAttribute('title')).toMatch(/\(\d{4}-\d\d-\d\dT/);
    expect(await build.locator('li.run .run-meta').first().textContent()).toMatch(
      /poll · started (just now|\d+ (s|min) ago) · \d+ (ms|s)/,
    );
    // Actions are buttons in their own group; the job's log and the value stream are links.
    const actions = deploy.getByRole('group', { name: 'Actions on deploy 1' });
    expect(await actions.getByRole('button').allTextContents()).toEqual([
      'Approve production',
      'Cancel',
    ]);
    expect(await actions.getByRole('link').count()).toBe(0);
    await deploy.getByRole('link', { name: 'Log of production/install of deploy 1' }).waitFor();
    await page.screenshot({ path: `${SHOTS}pipelines.png`, fullPage: true });
  });

  it("shows a pipeline's timer with its next firing, and the template it comes from", async () => {
    const page = await signIn(VIEWER);
    const nightly = page.getByRole('region', { name: 'Pipeline nightly' });
    await nightly.getByText('from template').waitFor();
    const line = (await nightly.locator('p.timer').textContent()) ?? '';
    expect(line).toContain('from template nightly-deploy (target=staging)');
    expect(line).toContain('timer 0 2 * * * Europe/Berlin (only on changes)');
    const next = await nightly.locator('p.timer time').getAttribute('datetime');
    expect(Number.isNaN(Date.parse(next ?? ''))).toBe(false);
  });

  it("shows a pipeline's variables, secure ones by name only", async () => {
    const page = await signIn(VIEWER);
    const line = page.getByLabel('Variables of deploy');
    await line.waitFor();
    expect(await line.textContent()).toBe('variables: REGION=eu-1, DEPLOY_KEY (secure)');
    expect(await page.content()).not.toContain(DASHBOARD_SECRET);
    await page.close();
  });

  it('approves a manual stage from the board as an operator, with the keyboard, and the run goes on', async () => {
    const page = await signIn(OPERATOR);
    const approve = page.getByRole('button', { name: 'Approve production of deploy 1' });
    await approve.waitFor();
    // Tab through the page to the button: it takes the focus, visibly, and Enter presses it.
    let focused = false;
    for (let i = 0; i < 80 && !focused; i++) {
      await page.keyboard.press('Tab');
      focused = await approve.evaluate((b) => b === b.ownerDocument.activeElement);
    }
    expect(focused, 'the Approve button is reached with Tab').toBe(true);
    expect(
      await approve.evaluate((b) => b.ownerDocument.defaultView?.getComputedStyle(b).outlineStyle),
    ).toBe('solid');
    await page.keyboard.press('Enter');
    await page
      .getByRole('region', { name: 'Pipeline deploy' })
      .getByText('production: passed')
      .waitFor({ timeout: 15_000 });
    expect((await runs('deploy'))[0]?.status).toBe('passed');
    const production = (await runs('deploy'))[0]?.stages[0];
    expect(production?.approvedBy).toBe('olivia');
    await page
      .getByRole('region', { name: 'Pipeline deploy' })
      .getByText('approved by olivia')
      .waitFor();
  });

  it('starts a pinned run from the history picker', async () => {
    cpSync(
      handmadeRepo([
        { name: 'app', version: '1.0' },
        { name: 'app', version: '1.1' },
      ]),
      repo,
      { recursive: true, force: true },
    );
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await eventually(
      async () =>
        (await runs('build'))[0]?.cause.packages['internal/app']?.revision === 'app-1.1-1.noarch'
          ? true
          : undefined,
      20_000,
    );
    const page = await signIn(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Run build with a chosen revision' }).click();
    await page.getByLabel('Revision of internal/app').selectOption('app-1.0-1.noarch');
    await page.getByRole('button', { name: 'Run build with the chosen revision' }).click();
    const pinned = await eventually(async () => {
      const latest = (await runs('build'))[0];
      return latest &&
        latest.counter >= 3 &&
        latest.cause.packages['internal/app']?.revision === 'app-1.0-1.noarch'
        ? latest
        : undefined;
    }, 20_000);
    expect(pinned.counter).toBe(3);
    // The deploy picker offers what passed build: wait until build/2 and build/3 have.
    await eventually(async () => {
      const passed = (await runs('build')).filter((r) => r.status === 'passed').length;
      return passed >= 3 ? true : undefined;
    }, 30_000);

    // deploy gets the package through build: its picker offers what passed build, and the run
    // carries that upstream run's package (the admin's click opens the manual first stage).
    await page.getByRole('button', { name: 'Run deploy with a chosen revision' }).click();
    const picker = page.getByLabel('Revision of internal/app (passed build)');
    await picker
      .locator('option', { hasText: 'app-1.1-1.noarch — build/2' })
      .waitFor({ state: 'attached' });
    // Newest run first; 1.0 passed in build/1 and build/3 and is offered once, with build/3.
    expect(await picker.locator('option').allTextContents()).toEqual([
      'app-1.0-1.noarch — build/3',
      'app-1.1-1.noarch — build/2',
    ]);
    await picker.selectOption('app-1.0-1.noarch');
    await page.getByRole('button', { name: 'Run deploy with the chosen revision' }).click();
    const rollback = await eventually(async () => {
      const latest = (await runs('deploy'))[0] as Run & { triggeredBy: string | null };
      return latest?.triggeredBy === 'admin' && latest.status === 'passed' ? latest : undefined;
    }, 20_000);
    expect(rollback.cause.packages['internal/app']?.revision).toBe('app-1.0-1.noarch');

    // The value stream of deploy/1 (app 1.0): the package, then every run that carried it,
    // column by column, build/3 (back to 1.0 after 1.1) marked as a rollback.
    await page.goto(`${server.url}/#/value-stream/deploy/1`);
    const stream = page.getByRole('region', { name: 'Value stream' });
    await stream.getByText('build #1').waitFor();
    const columns = stream.locator('.column');
    // chatty takes the package from the repository too: it sits beside build.
    expect(await columns.locator('h3').allTextContents()).toEqual([
      'Package',
      'build · chatty',
      expect.stringMatching(/deploy|nightly/),
    ]);
    await columns.nth(1).getByText('build #3').waitFor();
    const rolledBack = stream.locator('[data-node="run:build/3"] .badge.rollback');
    expect(await rolledBack.count()).toBe(1);
    expect(await stream.locator('[data-node="run:build/1"] .badge.rollback').count()).toBe(0);
    // deploy went 1.0, 1.1 (build/2), then back to 1.0: the run that went back is marked.
    expect(await stream.locator('[data-node^="run:deploy/"] .badge.rollback').count()).toBe(1);
    // Edges: package -> build/1 and build/3, build/1 -> deploy/1, build/3 -> the pinned deploy.
    expect(await stream.locator('svg.edges path[d]').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: `${SHOTS}value-stream.png`, fullPage: true });
    // The run view: stage history, its jobs, and the way back.
    await stream.page().getByRole('link', { name: 'deploy #1' }).first().click();
    const history = page.getByRole('region', { name: 'Stage history' });
    await history.getByText('production: passed').waitFor();
    await history.getByRole('link', { name: 'install' }).waitFor();
    await page
      .getByRole('navigation', { name: 'Breadcrumb' })
      .getByRole('link', { name: 'Pipelines' })
      .waitFor();
    await page.goto(`${server.url}/#/materials`);
    await page.getByText('Recent checks').first().waitFor();
    // The instances sharing the store: here one, this one, alive.
    const instances = page.getByRole('region', { name: 'Instances' });
    await instances.getByText('(this one)').waitFor();
    expect(await instances.locator('tbody tr').count()).toBe(1);
    await page.goto(`${server.url}/#/plugins`);
    await page.getByRole('region', { name: 'Plugins' }).getByText('loaded').first().waitFor();
    await page.goto(`${server.url}/#/log/build/1/verify/test`);
    await page.getByText('tested app-1.0-1.noarch').waitFor();
    const job = page.getByRole('region', { name: 'Job verify/test' });
    expect(await job.locator('.job-facts').textContent()).toMatch(/exit code 0\s+\d+ (ms|s)/);
    await page
      .getByRole('navigation', { name: 'Breadcrumb' })
      .getByRole('link', { name: 'build #1' })
      .click();
    await page.getByRole('region', { name: 'Stage history' }).getByText('verify: passed').waitFor();
  }, 90_000);

  it('keeps "Recent checks" open while the materials view updates', async () => {
    const page = await signIn(OPERATOR);
    await page.goto(`${server.url}/#/materials`);
    const details = page.locator('tr[data-material="internal/app"] details.recent-checks');
    await details.locator('summary').click();
    const newest = () => details.locator('li time').first().getAttribute('datetime');
    const before = await newest();
    await page.getByRole('button', { name: 'Check internal now' }).click();
    await eventually(async () => ((await newest()) !== before ? true : undefined), 10_000);
    expect(await details.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(true);
    await page.screenshot({ path: `${SHOTS}materials.png`, fullPage: true });
  });

  // Live updates come from GET /api/events (the event stream): a new revision is on the
  // viewer's board and the operator's materials view, without a reload, within a second of its
  // event. Against a server without the stream (404) the dashboard polls every 2 s instead,
  // which this test does not accept.
  it('shows a new revision without reload within a second of its event', async () => {
    expect(stream, 'the server has no event stream (GET /api/events answered 404)').toBe(true);
    const viewer = await signIn(VIEWER);
    const board = viewer.getByRole('region', { name: 'Pipeline build' });
    await board.getByText('app-1.1-1.noarch').first().waitFor();
    const operator = await signIn(OPERATOR);
    await operator.goto(`${server.url}/#/materials`);
    const material = operator.locator('tr[data-material="internal/app"] strong.label');
    await material.getByText('app-1.1-1.noarch').waitFor();
    for (const page of [viewer, operator]) await page.evaluate('window.__sameDocument = true');

    const events = await subscribe(server.url, VIEWER);
    try {
      cpSync(
        handmadeRepo(['1.0', '1.1', '1.2'].map((version) => ({ name: 'app', version }))),
        repo,
        { recursive: true, force: true },
      );
      await server.api('POST', '/api/materials/check', { repository: 'internal' });
      const label = 'app-1.2-1.noarch';
      const revision = await events.next(
        (e) => e.type === 'material.revision' && JSON.stringify(e).includes(label),
      );
      await material.getByText(label).waitFor({ timeout: 5000 });
      const onMaterials = Date.now() - revision.receivedAt;
      const created = await events.next((e) => e.type === 'run.created' && e.pipeline === 'build');
      await board.getByText(label).first().waitFor({ timeout: 5000 });
      const onBoard = Date.now() - created.receivedAt;
      expect(onMaterials, 'materials view, ms after the event').toBeLessThan(1000);
      expect(onBoard, 'board, ms after the event').toBeLessThan(1000);
    } finally {
      await events.close();
    }
    for (const page of [viewer, operator])
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
  });

  it("follows a running job's log as it grows, with its status, exit code and duration", async () => {
    const scheduled = await server.api<{ counter: number }>(
      'POST',
      '/api/pipelines/chatty/schedule',
      {},
    );
    const page = await signIn(VIEWER);
    await page.goto(`${server.url}/#/job/chatty/${scheduled.body.counter}/talk/lines`);
    const job = page.getByRole('region', { name: 'Job talk/lines' });
    const log = job.getByLabel('Job log');
    await log.getByText('line 1').waitFor({ timeout: 10_000 });
    expect(await job.locator('h2 .badge').textContent()).toBe('building');
    expect(await log.textContent()).not.toContain('line 5');
    await log.getByText('line 5').waitFor({ timeout: 10_000 });
    await job.locator('h2 .badge', { hasText: 'passed' }).waitFor({ timeout: 10_000 });
    expect(await job.locator('.job-facts').textContent()).toMatch(/exit code 0\s+\d+ s/);
    // The way back: the run, then the board.
    await page
      .getByRole('navigation', { name: 'Breadcrumb' })
      .getByRole('link', { name: 'Pipelines' })
      .click();
    await page.getByRole('region', { name: 'Pipeline chatty' }).waitFor();
  });

  it('shows operators the webhooks and their delivery log, and viewers not', async () => {
    const page = await signIn(OPERATOR);
    await page
      .getByRole('navigation', { name: 'Views' })
      .getByRole('link', { name: 'Notifications' })
      .click();
    const team = page.getByRole('region', { name: 'Notification team' });
    await team
      .locator('.badge.passed', { hasText: 'delivered' })
      .first()
      .waitFor({ timeout: 10_000 });
    const broken = page.getByRole('region', { name: 'Notification broken' });
    await broken
      .locator('.badge.failed', { hasText: 'failed' })
      .first()
      .waitFor({ timeout: 10_000 });
    expect(await broken.locator('tbody tr').first().textContent()).toContain('500');
    const viewer = await signIn(VIEWER);
    await viewer
      .getByRole('navigation', { name: 'Views' })
      .getByRole('link', { name: 'Materials' })
      .waitFor();
    expect(await viewer.getByRole('link', { name: 'Notifications' }).count()).toBe(0);
  });

  it('shows a viewer no action buttons, and reads well at phone width', async () => {
    const page = await signIn(VIEWER, 390);
    await page.getByRole('region', { name: 'Pipeline build' }).waitFor();
    await page.waitForTimeout(300);
    expect(await page.locator('button.action').count()).toBe(0);
    // Nothing wider than the phone but what scrolls in its own box.
    const overflow = await page.evaluate('document.documentElement.scrollWidth');
    expect(overflow).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}phone-viewer.png`, fullPage: true });
  });

  it('refuses a wrong token at sign-in', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.getByLabel('API token').fill('not-a-real-token-123456');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That token was refused.').waitFor();
    await page.close();
  });
});
