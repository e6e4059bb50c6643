import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineView } from '../server/api/schemas/index.ts';
import { runHoist } from './helpers/cli.ts';
import { handmadeRepo } from './helpers/handmade-repo.ts';
import {
  ADMIN_TOKEN,
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';

const OPERATOR = 'operator-token-0123456789';

describe('hoist apply (as a process, against a real server)', () => {
  let repo: string;
  let original: string;
  let server: ServerProcess;
  const servers: ServerProcess[] = [];
  const base = (extra = '') => `
auth:
  tokens: [{ name: olive, role: operator, token: "${OPERATOR}" }]
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: build
    materials: [{ package: internal/app }]
    stages: [{ name: verify, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
${extra}`;

  beforeAll(async () => {
    repo = handmadeRepo([{ name: 'app', version: '1.0' }]);
    original = writeConfig(base());
    server = await startServer({ config: original });
    servers.push(server);
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    rmSync(repo, { recursive: true, force: true });
  });

  it('applies a file with an admin token, with the exit codes of the other commands', async () => {
    const env = { HOIST_SERVER: server.url, XDG_CONFIG_HOME: server.dataDir };
    const more = join(server.dataDir, 'more.yaml');
    writeFileSync(
      more,
      base(`  - name: extra
    materials: [{ package: internal/app }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "true" }] }] }]
`),
    );
    const applied = await runHoist(['apply', '--config', more], {
      ...env,
      HOIST_TOKEN: ADMIN_TOKEN,
    });
    expect(applied).toMatchObject({ code: 0, stdout: 'applied: 1 added, 0 changed, 0 removed\n' });

    const operator = await runHoist(['apply', '--config', more], { ...env, HOIST_TOKEN: OPERATOR });
    expect(operator).toMatchObject({
      code: 4,
      stderr: "hoist: This needs the admin role; the token 'olive' is operator\n",
    });
    const down = await runHoist(['apply', '--config', more, '--server', 'http://127.0.0.1:59999'], {
      ...env,
      HOIST_TOKEN: ADMIN_TOKEN,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe('hoist: cannot reach http://127.0.0.1:59999: ECONNREFUSED\n');
    const missing = await runHoist(['apply', '--config', join(server.dataDir, 'nope.yaml')], {
      ...env,
      HOIST_TOKEN: ADMIN_TOKEN,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^hoist: cannot read .*nope\.yaml: ENOENT\n$/);
    writeFileSync(join(server.dataDir, 'bad.yaml'), 'pipelines: [');
    const bad = await runHoist(['apply', '--config', join(server.dataDir, 'bad.yaml')], {
      ...env,
      HOIST_TOKEN: ADMIN_TOKEN,
    });
    expect(bad.code).toBe(2);
    const file = join(server.dataDir, 'bad.yaml');
    expect(bad.stderr).toMatch(
      new RegExp(
        `^hoist: ${file} is refused \\(1 problem\\):\\n  ${file}:1:\\d+: YAML: [^\\n]+\\n$`,
      ),
    );
    // The token is checked after the file is read: an unreadable file is exit 2 without one.
    const unread = await runHoist(['apply', '--config', join(server.dataDir, 'nope.yaml')], {
      ...env,
      HOIST_TOKEN: '',
    });
    expect(unread.code).toBe(2);
  });

  it('says at start what the file removed that an earlier apply had added', async () => {
    await server.stop();
    server = await startServer({ config: original, dataDir: server.dataDir });
    servers.push(server);
    await eventually(async () =>
      server
        .output()
        .includes('the configuration file removed what an earlier configuration had added')
        ? true
        : undefined,
    );
    expect(server.output()).toContain('hoist apply): pipeline extra');
    const pipelines = (await server.api<PipelineView[]>('GET', '/api/pipelines')).body;
    expect(pipelines.map((p) => p.name)).toEqual(['build']);
  });
});
