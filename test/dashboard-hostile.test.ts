import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../server/api/schemas/index.ts';
import {
  hasEventStream,
  launchChromium,
  signIn,
  unexpectedErrors,
  type WatchedPage,
} from './helpers/browser.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const VIEWER = 'viewer-token-for-hostile-metadata';
// What a hostile repository publishes: markup and script in the summary and the packager, a
// `javascript:` URL as the package's url. Each would set window.__pwned if it ever ran.
const SUMMARY = `<img src=x onerror="window.__pwned='summary'">Summary`;
const PACKAGER = `<script>window.__pwned='packager'</script> Mallory`;
const URL_PAYLOAD = `javascript:window.__pwned='url'//`;

describe('hostile package metadata on the dashboard (Debian Chromium)', () => {
  let repo: string;
  let server: ServerProcess;
  let browser: Browser;
  let stream = false;
  const pages: WatchedPage[] = [];

  beforeAll(async () => {
    repo = tempRepoDir();
    await buildRpms(repo, [
      { name: 'evil', version: '1.0', summary: SUMMARY, packager: PACKAGER, url: URL_PAYLOAD },
      { name: 'good', version: '2.0', url: 'https://example.org/good' },
    ]);
    await createrepo(repo);
    server = await startServer({
      config: writeConfig(`
auth:
  tokens:
    - { name: watcher, role: viewer, token: "${VIEWER}" }
repositories:
  - name: hostile
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages:
      - { name: evil, config: { PACKAGE_SPEC: evil }, pollInterval: 1h }
      - { name: good, config: { PACKAGE_SPEC: good }, pollInterval: 1h }
pipelines:
  - name: build
    materials: [{ package: hostile/evil }, { package: hostile/good }]
    stages: [{ name: verify, jobs: [{ name: test, tasks: [{ run: "true" }] }] }]
`),
    });
    browser = await launchChromium();
    stream = await hasEventStream(server.url, ADMIN_TOKEN);
    await eventually(async () => {
      const runs = (await server.api<Run[]>('GET', '/api/pipelines/build/runs')).body;
      return runs[0]?.status === 'passed' ? true : undefined;
    }, 30_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  /** No payload ran, and every link goes to http(s) or stays on the page. */
  async function assertInert(page: Page) {
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    const targets = await page
      .locator('a[href]')
      .evaluateAll((links) => links.map((a) => String((a as unknown as { href: string }).href)));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(['http:', 'https:']).toContain(new URL(target).protocol);
    expect(targets.some((t) => t.startsWith('javascript:'))).toBe(false);
    expect(await page.locator('script:not([src]):not([type="importmap"])').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
  }

  it("serves lit-html's browser modules only, as cacheable JavaScript, under a strict policy", async () => {
    const module = await fetch(`${server.url}/vendor/lit-html/lit-html.js`);
    expect(module.status).toBe(200);
    expect(module.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(module.headers.get('cache-control')).toMatch(/max-age=86400/);
    const directive = await fetch(`${server.url}/vendor/lit-html/directives/repeat.js`);
    expect(directive.status).toBe(200);
    for (const path of [
      'package.json',
      'directives/unsafe-html.js',
      'node/lit-html.js',
      'lit-html.js.map',
      '..%2fpackage.json',
    ]) {
      const refused = await fetch(`${server.url}/vendor/lit-html/${path}`);
      expect(refused.status, path).toBeGreaterThanOrEqual(400);
      await refused.body?.cancel();
    }
    const page = await fetch(server.url);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+';/);
    expect(policy).not.toContain('unsafe');
    expect(await page.text()).toContain('<link rel="icon" href="data:,">');
  });

  it('shows summary, packager and url as text in the value stream, and runs none of them', async () => {
    const watched = await signIn(browser, server.url, VIEWER);
    pages.push(watched);
    const { page } = watched;
    await page.goto(`${server.url}/#/value-stream/build/1`);
    const graph = page.getByRole('region', { name: 'Value stream' });
    const evil = graph.locator('.package-node', { hasText: 'hostile/evil' });
    await evil.getByText(SUMMARY).waitFor();
    await evil.getByText(`by ${PACKAGER}`).waitFor();
    const url = evil.locator('.trackback');
    expect(await url.textContent()).toBe(URL_PAYLOAD);
    expect(await url.locator('a').count()).toBe(0);
    // An http(s) url is a link, opened apart from the dashboard.
    const good = graph.locator('.package-node', { hasText: 'hostile/good' }).locator('a.external');
    expect(await good.getAttribute('href')).toBe('https://example.org/good');
    expect(await good.getAttribute('rel')).toBe('noopener noreferrer');
    await assertInert(page);
  });

  it('shows them as text in the materials view too', async () => {
    const watched = await signIn(browser, server.url, VIEWER);
    pages.push(watched);
    const { page } = watched;
    await page.goto(`${server.url}/#/materials`);
    const row = page.locator('tr[data-material="hostile/evil"]');
    await row.getByText(SUMMARY).waitFor();
    await row.getByText(`by ${PACKAGER}`).waitFor();
    expect(await row.locator('.trackback').textContent()).toBe(URL_PAYLOAD);
    await page.waitForTimeout(2500); // a refresh or two later: still inert
    await assertInert(page);
    // No console errors: a payload inserted as markup would also have met the CSP, which says so.
    expect(unexpectedErrors(pages, stream)).toEqual([]);
  });
});
