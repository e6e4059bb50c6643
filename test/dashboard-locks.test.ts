import { cpSync, existsSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('pipeline locks on the dashboard (Debian Chromium)', () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  const run = async (counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/guarded/runs/${counter}`)).body;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    server = await startServer({
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: guarded
    lock: lockOnFailure
    materials: [{ package: internal/app }]
    stages:
      - name: roll-out
        jobs: [{ name: install, tasks: [{ run: 'test "$HOIST_PACKAGE_INTERNAL_APP_LABEL" != app-1.0-1.noarch' }] }]
`),
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  it('shows the lock a failed run keeps and the run waiting for it, and unlocks with a click', async () => {
    await eventually(async () => ((await run(1))?.status === 'failed' ? true : undefined), 20_000);
    cpSync(
      handmadeRepo([
        { name: 'app', version: '1.0' },
        { name: 'app', version: '1.1' },
      ]),
      repo,
      { recursive: true, force: true },
    );
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    await eventually(async () => ((await run(2))?.waitingFor ? true : undefined), 20_000);

    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    await page.goto(server.url);
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const card = page.getByRole('region', { name: 'Pipeline guarded' });
    await card.getByText('locked by #1 (failed)').waitFor();
    await card
      .getByRole('status')
      .getByText("Waiting for the lock of pipeline 'guarded', held by run 1 (failed)")
      .waitFor();
    await card.getByRole('button', { name: 'Unlock guarded' }).click();
    await eventually(async () => ((await run(2)).status === 'passed' ? true : undefined), 20_000);
    await card.getByText('roll-out: passed').waitFor();
    // The page reads pipelines and runs one after the other: the badge goes at the next refresh.
    await card.getByText('locked by').waitFor({ state: 'detached', timeout: 10_000 });
    await page.close();
  }, 60_000);
});
