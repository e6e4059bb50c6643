import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runHoist } from './helpers/cli.ts';
import { eventually, startServer, writeConfig } from './helpers/server-process.ts';

/** The opt-in long-lived protocol (`"protocol": "lines"`): one process serves every message. */
const PLUGIN = fileURLToPath(new URL('./gocd-plugins/lines', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hoist-lines-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const lines = (data: string, file: string) =>
  readFileSync(join(data, 'plugins', 'lines-demo', file), 'utf8')
    .split('\n')
    .filter(Boolean);

describe('a long-lived plugin process (protocol: lines)', () => {
  it('answers hoist check from one process, which does not keep the command running', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    expect((await runHoist(['--data', data, 'plugins', 'install', PLUGIN])).code).toBe(0);
    const started = Date.now();
    const check = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'lines-demo',
      '--repo',
      'URL=x',
      '--package',
      'NAME=app',
      '--json',
    ]);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout)).toMatchObject({
      revision: 'app-1',
      data: { 'BUILD-ID': '1' },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    // One start to install (it loads the plugin), one for the check: load, validate, poll.
    expect(lines(data, 'starts.log')).toHaveLength(2);
    const connection = await runHoist([
      '--data',
      data,
      'check',
      '--plugin',
      'lines-demo',
      '--repo',
      'URL=x',
      '--package',
      'NAME=app',
      '--connection',
    ]);
    expect(connection.stdout).toBe(
      'repository: success\n  reached\npackage: success\n  found app-1\n',
    );
  });

  it('serves every poll of a running server from the same process', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    expect((await runHoist(['--data', data, 'plugins', 'install', PLUGIN])).code).toBe(0);
    const server = await startServer({
      dataDir: data,
      config: writeConfig(`
repositories:
  - name: demo
    plugin: lines-demo
    config: { URL: "x" }
    packages: [{ name: a, config: { NAME: a }, pollInterval: 1s }, { name: b, config: { NAME: b }, pollInterval: 1s }]
`),
    });
    try {
      const polls = await eventually(async () => {
        const since = lines(data, 'requests.jsonl').filter((l) =>
          l.includes('latest-revision-since'),
        );
        return since.length >= 6 ? since : undefined;
      }, 20_000);
      expect(polls.length).toBeGreaterThanOrEqual(6);
      // Install, then the server: two processes in all, however many polls.
      expect(lines(data, 'starts.log')).toHaveLength(2);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
