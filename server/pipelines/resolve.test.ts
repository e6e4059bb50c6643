import type { Revision } from 'hoist';
import { describe, expect, it } from 'vitest';
import { PipelineConfig } from '../config/schema.ts';
import type { RunRow, StageStatus } from '../store/store.ts';
import { composeCause, revisionKey } from './cause.ts';
import { type RunSources, resolveRun } from './resolve.ts';

const job = [{ name: 'j', tasks: [{ run: 'true' }] }];
const build = PipelineConfig.parse({
  name: 'build',
  materials: [{ package: 'internal/app' }],
  stages: [{ name: 'verify', jobs: job }],
});
const deploy = PipelineConfig.parse({
  name: 'deploy',
  materials: [{ pipeline: 'build', stage: 'verify' }],
  stages: [{ name: 'production', approval: 'manual', jobs: job }],
});
/** Lists the package as well as the upstream: the upstream's tested revision must still win. */
const both = PipelineConfig.parse({
  name: 'both',
  materials: [{ pipeline: 'build', stage: 'verify' }, { package: 'internal/app' }],
  stages: [{ name: 'production', jobs: job }],
});
const tools = PipelineConfig.parse({
  name: 'tools',
  materials: [{ pipeline: 'build', stage: 'verify' }, { package: 'internal/tool' }],
  stages: [{ name: 'use', jobs: job }],
});

const rev = (label: string): Revision => ({
  revision: label,
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { LOCATION: `file:///repo/${label}.rpm`, CHECKSUM: `sum-of-${label}` },
});

function buildRun(counter: number, label: string, status: StageStatus = 'passed'): RunRow {
  return {
    id: counter,
    pipeline: 'build',
    counter,
    status: status === 'passed' ? 'passed' : 'failed',
    cause: {
      materials: [{ material: 'internal/app', type: 'package', revision: label, changed: true }],
      packages: { 'internal/app': rev(label) },
    },
    revisionKey: label,
    trigger: 'poll',
    triggeredBy: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    stages: [
      {
        id: counter,
        runId: counter,
        position: 0,
        name: 'verify',
        status,
        approval: 'auto',
        approvedBy: null,
        approvedAt: null,
        approvalComment: null,
        startedAt: null,
        finishedAt: null,
        jobs: [],
      },
    ],
  };
}

/** build #1 passed 1.0, #2 passed 1.1, #3 failed 2.0; the repository has 0.9 too. */
function sources(
  runs = [buildRun(1, 'app-1.0'), buildRun(2, 'app-1.1'), buildRun(3, 'app-2.0', 'failed')],
): RunSources {
  const definitions = new Map([build, deploy, both, tools].map((d) => [d.name, d]));
  const repository = ['app-0.9', 'app-1.0', 'app-1.1', 'app-2.0', 'tool-3'];
  return {
    definition: async (name) => definitions.get(name),
    runs: async (name) => (name === 'build' ? [...runs].reverse() : []),
    run: async (name, counter) =>
      name === 'build' ? runs.find((r) => r.counter === counter) : undefined,
    latest: async (material) => (material === 'internal/tool' ? rev('tool-3') : rev('app-2.0')),
    revision: async (_material, label) => (repository.includes(label) ? rev(label) : undefined),
  };
}

const pins = (packages: Record<string, string>, upstreams: Record<string, number> = {}) => ({
  pins: { packages, upstreams },
});

describe('server/pipelines/resolve: what a run receives', () => {
  it('pins a downstream pipeline by package to the newest upstream run that passed with it', async () => {
    const inputs = await resolveRun(deploy, pins({ 'internal/app': 'app-1.0' }), sources());
    const cause = composeCause(deploy, inputs);
    expect(cause.packages['internal/app']?.revision).toBe('app-1.0');
    expect(cause.packages['internal/app']?.data.LOCATION).toBe('file:///repo/app-1.0.rpm');
    expect(cause.materials).toEqual([
      { material: 'build/verify', type: 'pipeline', revision: 'build/1/verify', changed: true },
    ]);
  });

  it('never deploys a package no upstream run passed with', async () => {
    await expect(
      resolveRun(deploy, pins({ 'internal/app': 'app-2.0' }), sources()),
    ).rejects.toThrow(
      "no run of 'build' passed stage 'verify' with internal/app app-2.0: only a tested package can be promoted",
    );
    await expect(
      resolveRun(deploy, pins({ 'internal/app': 'app-0.9' }), sources()),
    ).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
  });

  it('pins by upstream run, which must have passed and agree with any package pin', async () => {
    const byRun = composeCause(deploy, await resolveRun(deploy, pins({}, { build: 1 }), sources()));
    expect(byRun.packages['internal/app']?.revision).toBe('app-1.0');
    await expect(resolveRun(deploy, pins({}, { build: 3 }), sources())).rejects.toThrow(
      "build/3 has not passed stage 'verify'",
    );
    await expect(resolveRun(deploy, pins({}, { build: 9 }), sources())).rejects.toThrow(
      'no run build/9',
    );
    await expect(
      resolveRun(deploy, pins({ 'internal/app': 'app-1.1' }, { build: 1 }), sources()),
    ).rejects.toThrow('build/1 ran internal/app app-1.0, not app-1.1');
    await expect(resolveRun(deploy, pins({}, { other: 1 }), sources())).rejects.toThrow(
      "pipeline 'deploy' has no upstream pipeline 'other'",
    );
  });

  it('keeps the record and the materials in agreement when the pipeline also lists the package', async () => {
    const cause = composeCause(
      both,
      await resolveRun(both, pins({ 'internal/app': 'app-1.0' }), sources()),
    );
    expect(cause.packages['internal/app']?.revision).toBe('app-1.0');
    const own = cause.materials.find((m) => m.material === 'internal/app');
    expect(own?.revision).toBe('app-1.0');
    // Unpinned, the upstream's newest pass wins over the repository's newest (2.0, untested).
    const latest = composeCause(both, await resolveRun(both, {}, sources()));
    expect(latest.packages['internal/app']?.revision).toBe('app-1.1');
    expect(latest.materials.find((m) => m.type === 'package')?.revision).toBe('app-1.1');
  });

  it('takes the package of an upstream trigger, and the others from the repository', async () => {
    const upstream = buildRun(2, 'app-1.1');
    const inputs = await resolveRun(
      tools,
      { upstream: { run: upstream, stage: 'verify' } },
      sources(),
    );
    const cause = composeCause(tools, inputs);
    expect(cause.packages).toMatchObject({
      'internal/app': { revision: 'app-1.1' },
      'internal/tool': { revision: 'tool-3' },
    });
    expect(cause.upstream).toEqual({ pipeline: 'build', counter: 2, stage: 'verify' });
    expect(cause.materials.map((m) => m.changed)).toEqual([true, false]);
  });

  it('pins a package pipeline to any revision the repository has, and refuses others', async () => {
    const cause = composeCause(
      build,
      await resolveRun(build, pins({ 'internal/app': 'app-0.9' }), sources()),
    );
    expect(cause.packages['internal/app']?.revision).toBe('app-0.9');
    expect(cause.materials[0]).toMatchObject({ revision: 'app-0.9', changed: true });
    await expect(resolveRun(build, pins({ 'internal/app': 'app-7' }), sources())).rejects.toThrow(
      "no revision 'app-7' of 'internal/app'",
    );
    await expect(resolveRun(build, pins({ 'internal/nope': 'x' }), sources())).rejects.toThrow(
      "pipeline 'build' has no package material 'internal/nope', directly or through an upstream pipeline",
    );
  });

  it('waits for an upstream that has not passed yet', async () => {
    await expect(resolveRun(deploy, {}, sources([]))).rejects.toThrow(
      "upstream pipeline 'build' has not passed stage 'verify' yet",
    );
  });

  it('gives runs with the same inputs the same key, and different inputs different keys', async () => {
    const a = composeCause(deploy, await resolveRun(deploy, pins({}, { build: 1 }), sources()));
    const b = composeCause(
      deploy,
      await resolveRun(deploy, pins({ 'internal/app': 'app-1.0' }), sources()),
    );
    const c = composeCause(deploy, await resolveRun(deploy, pins({}, { build: 2 }), sources()));
    expect(revisionKey(a)).toBe(revisionKey(b));
    expect(revisionKey(a)).not.toBe(revisionKey(c));
  });
});
