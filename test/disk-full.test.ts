import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { runsOf, until } from './helpers/runs.ts';
import { type ServerProcess, startServer, writeConfig } from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

/** A data folder on a tmpfs of this size: a disk that really fills up. */
const DISK = '24m';

describe('a full disk (server process, data folder on a small tmpfs)', () => {
  let mountPoint: string;
  let flag: string;
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;

  beforeAll(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'hoist-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK}`, 'tmpfs', mountPoint], {
        stdio: 'pipe',
      });
    } catch (error) {
      throw new Error(
        `cannot mount a tmpfs at ${mountPoint} (this suite needs root): ${String((error as { stderr?: unknown }).stderr ?? error).trim()}`,
      );
    }
    // While this file exists the job writes far more than the disk holds.
    flag = join(mkdtempSync(join(tmpdir(), 'hoist-flag-')), 'fill');
    writeFileSync(flag, '');
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    server = await startServer({
      dataDir: join(mountPoint, 'data'),
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }
pipelines:
  - name: fill
    materials: [{ package: internal/app }]
    stages:
      - name: s
        jobs:
          - name: j
            tasks:
              - run: if [ -e ${flag} ]; then yes 'a line of output that fills the disk' | head -c 100000000; fi; echo done
`),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
      rmSync(mountPoint, { recursive: true, force: true });
    } catch {
      // Not mounted (the mount failed): nothing to undo.
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the job with the reason, keeps serving, refuses writes with a 507, then recovers', async () => {
    const [first] = await runsOf(server, 'fill').then(async (runs) =>
      runs.length > 0 ? runs : [await until(server, 'fill', 1, () => true)],
    );
    expect(first?.counter).toBe(1);
    // The disk is full: the job's log could not take more.
    const full = () => statfsSync(mountPoint).bavail === 0;
    await until(server, 'fill', 1, () => full(), 60_000);
    expect((await server.api('GET', '/api/health')).status).toBe(200);
    expect((await server.api('GET', '/api/pipelines')).status).toBe(200);
    // A change too large for what the database file already holds cannot be stored.
    const big = {
      name: 'big',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 's', jobs: [{ name: 'j', tasks: [{ run: `: ${'x'.repeat(3 << 20)}` }] }] }],
    };
    const refused = await server.api<ErrorBody>('POST', '/api/pipelines', big);
    expect(refused.status).toBe(507);
    expect(refused.body.error).toEqual({
      code: 'ERR_NO_SPACE',
      message:
        'The server cannot write its data: no space left on device; free space for its data folder and try again',
    });
    // A check while the disk is full cannot record itself; the server goes on.
    const check = await server.api('POST', '/api/materials/check', { repository: 'internal' });
    expect([200, 202, 507]).toContain(check.status);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await server.api('GET', '/api/health')).status).toBe(200);

    // Space returns: the job's end is recorded with its reason, and the next run passes.
    rmSync(flag);
    rmSync(join(server.dataDir, 'logs', 'fill', '1', 's', 'j.log'));
    const failed = await until(server, 'fill', 1, (r) => r.status === 'failed', 30_000);
    expect(failed.stages[0]?.jobs[0]?.error).toBe(
      `cannot write the job's log: no space left on device (${join(server.dataDir, 'logs', 'fill', '1', 's', 'j.log')})`,
    );
    expect((await server.api('POST', '/api/pipelines', big)).status).toBe(201);
    expect((await server.api('POST', '/api/pipelines/fill/schedule', {})).status).toBeLessThan(300);
    const second = await until(server, 'fill', 2, (r) => r.status !== 'building', 30_000);
    expect(second.status).toBe('passed');
    expect(server.child.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/Unhandled 'error' event|ENOSPC.*\n\s+at /);
  }, 120_000);
});
