import { cpSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import { launchChromium, signIn, unexpectedErrors } from './helpers/browser.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

describe('pipeline locks on the dashboard (Debian Chromium)', () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  const run = async (counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/guarded/runs/${counter}`)).body;

  beforeAll(async () => {
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
    browser = await launchChromium();
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

    const watched = await signIn(browser, server.url, ADMIN_TOKEN);
    const { page } = watched;
    const card = page.getByRole('region', { name: 'Pipeline guarded' });
    await card.getByText('locked by #1 (failed)').waitFor();
    await card
      .getByRole('status')
      .getByText("Waiting for the lock of pipeline 'guarded', held by run 1 (failed)")
      .waitFor();
    await card.getByRole('button', { name: 'Unlock guarded' }).click();
    await eventually(async () => ((await run(2)).status === 'passed' ? true : undefined), 20_000);
    await card.getByText('roll-out: passed').waitFor();
    // One read gives the pipeline with its runs: the badge goes with the run that passed.
    await card.getByText('locked by').waitFor({ state: 'detached', timeout: 10_000 });
    expect(unexpectedErrors([watched], true)).toEqual([]);
    await page.close();
  }, 60_000);
});
