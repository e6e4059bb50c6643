import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import { HOIST_BIN, runHoist } from './helpers/cli.ts';
import { eventually } from './helpers/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

describe('hoist demo: one command to see it work, offline', () => {
  let data: string;
  let demo: ChildProcess;
  let browser: Browser;
  let url = '';
  let token = '';
  const api = async <T>(path: string): Promise<T> =>
    (
      await fetch(url + path, { headers: { authorization: `Bearer ${token}` } })
    ).json() as Promise<T>;
  const runs = (p: string) => api<Run[]>(`/api/pipelines/${p}/runs`);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    data = mkdtempSync(join(tmpdir(), 'hoist-demo-'));
    demo = spawn(process.execPath, [HOIST_BIN, '--data', data, 'demo', '--port', '0'], {
      env: { ...process.env, HOIST_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout?.on('data', (d) => (output += d));
    demo.stderr?.on('data', (d) => (output += d));
    await eventually(async () => {
      const dashboard = /dashboard\s+(http:\/\/\S+?)\/?\n/.exec(output);
      const printed = /token\s+(\S+)\n/.exec(output);
      if (!dashboard || !printed) return undefined;
      url = dashboard[1] as string;
      token = printed[1] as string;
      return true;
    }, 20_000).catch(() => {
      throw new Error(`hoist demo did not start:\n${output}`);
    });
    expect(output).not.toContain('Deprecation');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    demo?.kill('SIGTERM');
    await new Promise((resolve) => demo?.once('exit', resolve));
    rmSync(data, { recursive: true, force: true });
  });

  it('runs build and deploy on its own repository, and waits for the production approval', async () => {
    const deploy = await eventually(async () => {
      const latest = (await runs('deploy'))[0];
      return latest?.status === 'waiting' ? latest : undefined;
    }, 30_000);
    expect(deploy.cause.packages['demo/app']?.revision).toBe('hoist-demo-app-1.0-1.noarch');
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Approve production of deploy 1' }).waitFor();
    await expect(
      page.getByRole('region', { name: 'Pipeline build' }).getByText('test: passed').count(),
    ).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}demo.png`, fullPage: true });

    // A new version, published with the second command, flows through build to deploy.
    const published = await runHoist(['--data', data, 'demo', 'publish']);
    expect(published.code).toBe(0);
    expect(published.stdout).toContain('published hoist-demo-app-1.1-1.noarch');
    await page
      .getByRole('region', { name: 'Pipeline build' })
      .getByText('hoist-demo-app-1.1-1.noarch')
      .first()
      .waitFor({ timeout: 30_000 });
    const next = await eventually(async () => {
      const latest = (await runs('deploy'))[0];
      return latest && latest.counter === 2 && latest.status === 'waiting' ? latest : undefined;
    }, 30_000);
    expect(next.cause.packages['demo/app']?.revision).toBe('hoist-demo-app-1.1-1.noarch');
    const log = await fetch(`${url}/api/pipelines/build/runs/2/stages/test/jobs/unit/log`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((r) => r.text());
    expect(log).toContain('sha256   matches the repository: the same bytes');
    await page.close();
  }, 90_000);
});
