import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduledRun } from '../server/api/schemas/index.ts';
import { makeSigningKey, type SigningKey, writeDistRepo } from './helpers/deb-repo.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { runOf, until } from './helpers/runs.ts';
import { type ServerProcess, startServer, writeConfig } from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';
import { requireTool } from './helpers/tools.ts';

const run = promisify(execFile);
const PASSWORD = 'repo-pass-5up3r-53cret';
const RPM = 'app-1.0-1.noarch.rpm';
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The package where it lands: a real rpm (rpmbuild + createrepo_c) served over loopback with
 * basic auth; a `fetch:` task brings it into the job's folder verified against the run's record,
 * a `run:` task after it reads it with rpm, and a downstream pipeline fetches the same package.
 * Then the repository serves other bytes under the same name (repodata unchanged): the job fails
 * with the mismatch and no file is left. The password reaches the fetch, never a log or the API.
 */
describe("fetch task: the run's package verified where it lands", () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;
  const workOf = (pipeline: string, counter: number, stage: string, job: string) =>
    join(server.dataDir, 'work', pipeline, String(counter), stage, job);
  const logOf = async (pipeline: string, counter: number, stage: string, job: string) =>
    String(
      (
        await server.api(
          'GET',
          `/api/pipelines/${pipeline}/runs/${counter}/stages/${stage}/jobs/${job}/log`,
        )
      ).body,
    );

  beforeAll(async () => {
    requireTool('rpm', 'Debian package rpm');
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'app', version: '1.0', summary: 'The tested build' }]);
    await createrepo(dir);
    repo = await serveDirectory(dir, { auth: { username: 'ci', password: PASSWORD } });
    const config = writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}", USERNAME: ci, PASSWORD: "\${env:REPO_PASSWORD}" }
    packages: [{ name: app, config: { PACKAGE_SPEC: app }, pollInterval: 1h }]
pipelines:
  - name: deploy
    materials: [{ package: internal/app }]
    stages:
      - name: install
        jobs:
          - name: fetch
            tasks:
              - { fetch: internal/app, to: pkg/ }
              - run: 'rpm -qip pkg/${RPM}; sha256sum pkg/${RPM}; env | grep -c "^HOIST_" >/dev/null'
              - { run: 'echo "ran after a failure"; ls -A pkg', runIf: failed }
  - name: production
    materials: [{ pipeline: deploy, stage: install }]
    stages:
      - name: rollout
        jobs:
          - name: fetch
            tasks:
              - { fetch: internal/app, to: deployed.rpm }
              - run: 'rpm -qp --qf "%{NAME}-%{VERSION}-%{RELEASE}\\n" deployed.rpm'
`);
    server = await startServer({ config, env: { REPO_PASSWORD: PASSWORD } });
  }, 120_000);

  afterAll(async () => {
    await server?.stop().catch(() => {});
    await repo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lands the recorded package, verified, where the next task and a downstream job read it', async () => {
    const first = await until(server, 'deploy', 1, (r) => r.status !== 'building', 60_000);
    expect(first.status, await logOf('deploy', 1, 'install', 'fetch')).toBe('passed');
    const recorded = first.cause.packages['internal/app'];
    expect(recorded?.data.CHECKSUM_TYPE).toBe('sha256');
    const landed = join(workOf('deploy', 1, 'install', 'fetch'), 'pkg', RPM);
    expect(sha256(landed)).toBe(sha256(join(dir, RPM)));
    expect(sha256(landed)).toBe(recorded?.data.CHECKSUM);
    const log = await logOf('deploy', 1, 'install', 'fetch');
    expect(log).toContain(`hoist: fetch internal/app: app-1.0-1.noarch from ${repo.url}/${RPM}`);
    expect(log).toContain(`bytes, sha256 ${recorded?.data.CHECKSUM} OK: pkg/${RPM}`);
    expect(log).toMatch(/Name\s+: app/);
    expect(log).toMatch(/Summary\s+: The tested build/);
    expect(log).toContain(`${recorded?.data.CHECKSUM}  pkg/${RPM}`);
    // The package's own request carried the credentials.
    const get = repo.requests.find((r) => r.path === `/${RPM}`);
    expect(get?.headers.authorization).toBe(
      `Basic ${Buffer.from(`ci:${PASSWORD}`).toString('base64')}`,
    );

    const downstream = await until(server, 'production', 1, (r) => r.status !== 'building', 60_000);
    const downLog = await logOf('production', 1, 'rollout', 'fetch');
    expect(downstream.status, downLog).toBe('passed');
    expect(downLog).toContain('\napp-1.0-1\n');
    expect(sha256(join(workOf('production', 1, 'rollout', 'fetch'), 'deployed.rpm'))).toBe(
      recorded?.data.CHECKSUM,
    );
  }, 90_000);

  it('fails the job when the repository serves other bytes under the same name, leaving no file', async () => {
    const recorded = (await runOf(server, 'deploy', 1)).cause.packages['internal/app'];
    // Same name, same version, other bytes; the repodata still describes the tested build.
    const other = tempRepoDir();
    try {
      await buildRpms(other, [{ name: 'app', version: '1.0', summary: 'Not what was tested' }]);
      copyFileSync(join(other, RPM), join(dir, RPM));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const served = sha256(join(dir, RPM));
    expect(served).not.toBe(recorded?.data.CHECKSUM);

    const scheduled = await server.api<ScheduledRun>('POST', '/api/pipelines/deploy/schedule', {});
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBeLessThan(300);
    const counter = scheduled.body.counter;
    const failed = await until(server, 'deploy', counter, (r) => r.status !== 'building', 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.cause.packages['internal/app']?.data.CHECKSUM).toBe(recorded?.data.CHECKSUM);
    const line = `fetch internal/app: ${repo.url}/${RPM} is not the package the run recorded (app-1.0-1.noarch): sha256 expected ${recorded?.data.CHECKSUM}, got ${served}`;
    const job = failed.stages[0]?.jobs[0];
    expect(job?.error).toContain(line);
    const log = await logOf('deploy', counter, 'install', 'fetch');
    expect(log).toContain(`hoist: task failed: ${line}`);
    expect(log).toContain('the download was deleted\n');
    // The run: task that would install it did not run; the clean-up task sees no file.
    expect(log).not.toMatch(/Name\s+: app/);
    expect(log).toContain('ran after a failure');
    const pkg = join(workOf('deploy', counter, 'install', 'fetch'), 'pkg');
    expect(existsSync(pkg) ? readdirSync(pkg) : []).toEqual([]);
  }, 90_000);

  it('never shows the repository password in a log, the API or the server output', async () => {
    const texts = [
      server.output(),
      await logOf('deploy', 1, 'install', 'fetch'),
      await logOf('deploy', 2, 'install', 'fetch'),
      await logOf('production', 1, 'rollout', 'fetch'),
      JSON.stringify((await server.api('GET', '/api/pipelines/deploy/runs?limit=10')).body),
      JSON.stringify((await server.api('GET', '/api/pipelines/deploy')).body),
      JSON.stringify((await server.api('GET', '/api/repositories/internal')).body),
    ];
    for (const text of texts) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(Buffer.from(`ci:${PASSWORD}`).toString('base64'));
    }
    // Nor on disk in clear: the database keeps it sealed.
    const { stdout } = await run('grep', ['-rl', PASSWORD, server.dataDir]).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    expect(stdout).toBe('');
  });
});

/** The same on an apt repository: the recorded `SHA256` and `Size` of a real .deb. */
describe('fetch task: a .deb of a signed apt repository', () => {
  let dir: string;
  let key: SigningKey;
  let repo: StaticServer;
  let server: ServerProcess;

  beforeAll(async () => {
    requireTool('dpkg-deb', 'Debian package dpkg');
    dir = mkdtempSync(join(tmpdir(), 'hoist-fetch-apt-'));
    key = await makeSigningKey();
    await writeDistRepo(dir, [{ name: 'app', version: '1.0-1', arch: 'amd64' }], {
      distribution: 'stable',
      architectures: ['amd64'],
      compressions: ['xz'],
      key,
    });
    const keyring = join(dir, 'keyring.gpg');
    writeFileSync(
      keyring,
      (await run('gpg', ['--homedir', key.home, '--export'], { encoding: 'buffer' })).stdout,
    );
    repo = await serveDirectory(dir);
    server = await startServer({
      config: writeConfig(`
repositories:
  - name: debs
    plugin: apt
    config: { REPO_URL: "${repo.url}", DISTRIBUTION: stable, ARCH: "amd64,all", SIGNED_BY: "${keyring}" }
    packages: [{ name: app, config: { PACKAGE: app }, pollInterval: 1h }]
pipelines:
  - name: deploy
    materials: [{ package: debs/app }]
    stages:
      - name: install
        jobs:
          - name: fetch
            tasks:
              - { fetch: debs/app }
              - run: 'dpkg-deb -f app_1.0-1_amd64.deb Package Version'
`),
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop().catch(() => {});
    await repo?.close();
    await key?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lands the .deb under its own name, verified against the recorded SHA256 and size', async () => {
    const first = await until(server, 'deploy', 1, (r) => r.status !== 'building', 60_000);
    const log = String(
      (await server.api('GET', '/api/pipelines/deploy/runs/1/stages/install/jobs/fetch/log')).body,
    );
    expect(first.status, log).toBe('passed');
    const recorded = first.cause.packages['debs/app'];
    const deb = join(dir, 'pool/main/app_1.0-1_amd64.deb');
    expect(recorded?.data.SHA256).toBe(sha256(deb));
    expect(recorded?.data.SIZE).toBe(String(readFileSync(deb).length));
    const landed = join(server.dataDir, 'work/deploy/1/install/fetch/app_1.0-1_amd64.deb');
    expect(sha256(landed)).toBe(sha256(deb));
    expect(log).toContain(`${recorded?.data.SIZE} bytes, sha256 ${recorded?.data.SHA256} OK`);
    expect(log).toContain('Package: app\nVersion: 1.0-1\n');
  }, 90_000);
});
