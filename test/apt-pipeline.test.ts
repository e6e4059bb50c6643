import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DebSpec,
  makeSigningKey,
  type SigningKey,
  writeDistRepo,
} from './helpers/deb-repo.ts';
import {
  eventually,
  type ServerProcess,
  startServer,
  writeConfig,
} from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

interface Run {
  counter: number;
  status: string;
  cause: {
    packages: Record<string, { revision: string }>;
    upstream?: { pipeline: string; counter: number };
  };
}

/** A pipeline triggered by a new .deb in a signed apt repository, promoting it downstream. */
describe('pipelines on an apt repository (server process)', () => {
  let dir: string;
  let key: SigningKey;
  let repo: StaticServer;
  let server: ServerProcess;
  const published: DebSpec[] = [{ name: 'app', version: '1.0-1', arch: 'amd64' }];

  const run = async (pipeline: string, counter: number) =>
    (await server.api<Run>('GET', `/api/pipelines/${pipeline}/runs/${counter}`)).body;
  const settled = (pipeline: string, counter: number, status: string) =>
    eventually(async () => {
      const r = await run(pipeline, counter).catch(() => undefined);
      return r?.status === status ? r : undefined;
    }, 30_000);
  const log = async (path: string) =>
    (
      await fetch(`${server.url}/api/pipelines/${path}/log`, {
        headers: { authorization: 'Bearer admin-token-for-tests-0123456789' },
      })
    ).text();
  const publish = () =>
    writeDistRepo(dir, published, {
      distribution: 'stable',
      architectures: ['amd64'],
      compressions: ['xz'],
      key,
    });
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hoist-apt-pipeline-'));
    key = await makeSigningKey();
    await publish();
    const keyring = join(dir, 'keyring.gpg');
    writeFileSync(keyring, execFileSync('gpg', ['--homedir', key.home, '--export']));
    repo = await serveDirectory(dir);
    server = await startServer({
      config: writeConfig(`
repositories:
  - name: debs
    plugin: apt
    config: { REPO_URL: "${repo.url}", DISTRIBUTION: stable, ARCH: "amd64,all", SIGNED_BY: "${keyring}" }
    packages:
      - name: app
        config: { PACKAGE: app }
        pollInterval: 1h
pipelines:
  - name: build
    materials: [{ package: debs/app }]
    stages:
      - name: verify
        jobs:
          - name: record
            tasks:
              - run: echo "label=$HOIST_PACKAGE_DEBS_APP_LABEL location=$HOIST_PACKAGE_DEBS_APP_LOCATION sha256=$HOIST_PACKAGE_DEBS_APP_SHA256"
  - name: deploy
    materials: [{ pipeline: build, stage: verify }]
    stages:
      - name: production
        jobs:
          - name: install
            tasks: [{ run: "echo deploying $HOIST_PACKAGE_DEBS_APP_LABEL from $HOIST_PACKAGE_DEBS_APP_LOCATION" }]
`),
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    await key?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs build for the first .deb, the job seeing its location and SHA256, and promotes it', async () => {
    const first = await settled('build', 1, 'passed');
    expect(first.cause.packages['debs/app']?.revision).toBe('app_1.0-1_amd64');
    const text = await log('build/runs/1/stages/verify/jobs/record');
    const deb = join(dir, 'pool/main/app_1.0-1_amd64.deb');
    expect(text).toContain(
      `label=app_1.0-1_amd64 location=${repo.url}/pool/main/app_1.0-1_amd64.deb sha256=${sha256(deb)}`,
    );
    const deploy = await settled('deploy', 1, 'passed');
    expect(deploy.cause.upstream).toMatchObject({ pipeline: 'build', counter: 1 });
    expect(await log('deploy/runs/1/stages/production/jobs/install')).toContain(
      `deploying app_1.0-1_amd64 from ${repo.url}/pool/main/app_1.0-1_amd64.deb`,
    );
  });

  it('builds and promotes a new .deb when the repository publishes it', async () => {
    await settled('deploy', 1, 'passed');
    published.push({ name: 'app', version: '1:0.9-1', arch: 'amd64' });
    await publish();
    await server.api('POST', '/api/materials/check', { repository: 'debs' });
    const second = await settled('build', 2, 'passed');
    expect(second.cause.packages['debs/app']?.revision).toBe('app_1:0.9-1_amd64');
    const text = await log('build/runs/2/stages/verify/jobs/record');
    expect(text).toContain(`sha256=${sha256(join(dir, 'pool/main/app_0.9-1_amd64.deb'))}`);
    const deploy = await settled('deploy', 2, 'passed');
    expect(deploy.cause.packages['debs/app']?.revision).toBe('app_1:0.9-1_amd64');
  });
});
