import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryState, type Revision } from '../core/index.ts';
import { testRuntime } from './helpers/host.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

const DIST = new URL('../dist/', import.meta.url);

/** The compiled runtime with its worker threads, as `hoist serve` runs it. */
async function isolatedRuntime() {
  const file = new URL('server/plugin-runtime.js', DIST);
  if (!existsSync(file))
    throw new Error('dist/server/plugin-runtime.js is missing: run npm run build');
  const { createPluginRuntime } = (await import(
    file.href
  )) as typeof import('../server/plugin-runtime.ts');
  return createPluginRuntime({ workers: 1 });
}

/**
 * A check of an unchanged repository is answered in the server's thread with one conditional
 * request; anything else goes to a worker; both give the answer a runtime without workers gives.
 */
describe('yum: unchanged repositories answered without a worker', () => {
  let dir: string;
  let server: StaticServer;
  let isolated: Awaited<ReturnType<typeof isolatedRuntime>>;
  const inProcess = testRuntime();

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [{ name: 'pub', version: '1.0' }]);
    await createrepo(dir);
    server = await serveDirectory(dir);
    isolated = await isolatedRuntime();
  }, 120_000);
  afterAll(async () => {
    await isolated?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a 304 in the calling thread, a changed repository in a worker, as without workers', async () => {
    expect(isolated.isolated).toBe(true);
    const repo = { REPO_URL: server.url };
    const pkg = { PACKAGE_SPEC: 'pub' };
    const state = createMemoryState();
    const plain = createMemoryState();
    const both = async (previous: Revision) => {
      const viaWorkers = await isolated.host.latestRevisionsSince('yum', repo, pkg, previous, {
        state,
      });
      const direct = await inProcess.host.latestRevisionsSince('yum', repo, pkg, previous, {
        state: plain,
      });
      expect(viaWorkers).toEqual(direct);
      return viaWorkers;
    };

    const first = await isolated.host.latestRevision('yum', repo, pkg, { state });
    await inProcess.host.latestRevision('yum', repo, pkg, { state: plain });
    expect(first?.revision).toBe('pub-1.0-1.noarch');
    expect(isolated.workers().calls).toBe(1);

    // Unchanged: one conditional request, answered 304, and no worker call.
    server.requests.length = 0;
    expect(await both(first as Revision)).toEqual([]);
    const seen = server.requests.filter((r) => r.headers['if-none-match'] !== undefined);
    expect(seen.map((r) => r.path)).toEqual(['/repodata/repomd.xml', '/repodata/repomd.xml']);
    expect(isolated.workers().calls).toBe(1);

    // An older previous revision is answered from the kept packages just the same.
    const older = { revision: 'pub-0.9-1.noarch', timestamp: new Date(0).toISOString(), data: {} };
    expect((await both(older)).map((r) => r.revision)).toEqual(['pub-1.0-1.noarch']);
    expect(isolated.workers().calls).toBe(1);

    // Published: repomd.xml changed, so the worker reads the repository.
    await buildRpms(dir, [{ name: 'pub', version: '1.1' }]);
    await createrepo(dir);
    const newer = await both(first as Revision);
    expect(newer.map((r) => r.revision)).toEqual(['pub-1.1-1.noarch']);
    expect(isolated.workers().calls).toBe(2);
  }, 120_000);

  it('sends a repository with a mirror list to the worker, even when its answer is kept', async () => {
    writeFileSync(join(dir, 'mirrors.txt'), `${server.url}\n`);
    const state = createMemoryState();
    // The list names REPO_URL itself: the kept answer's base is REPO_URL, as for a plain one.
    const repo = { REPO_URL: server.url, MIRRORLIST: `${server.url}/mirrors.txt` };
    const pkg = { PACKAGE_SPEC: 'pub' };
    const first = await isolated.host.latestRevision('yum', repo, pkg, { state });
    expect(first?.revision).toBe('pub-1.1-1.noarch');
    expect(JSON.stringify(state.snapshot())).toContain(`"base":"${server.url}"`);
    const before = isolated.workers().calls;
    expect(
      await isolated.host.latestRevisionsSince('yum', repo, pkg, first as Revision, { state }),
    ).toEqual([]);
    expect(isolated.workers().calls).toBe(before + 1);
  });
});
