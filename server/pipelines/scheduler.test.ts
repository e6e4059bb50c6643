import type { JsonValue } from 'hoist';
import { describe, expect, it } from 'vitest';
import { harness } from '../../test/helpers/harness.ts';
import { sampleRevision } from '../../test/helpers/sample-plugin.ts';
import type { RunRow } from '../store/store.ts';

const job = [{ name: 'j', tasks: [{ run: 'true' }] }];
const config = {
  auth: {
    tokens: [
      { name: 'alice', role: 'operator', token: 'alice-token-0123456789', groups: ['release'] },
    ],
  },
  repositories: [
    {
      name: 'internal',
      plugin: 'sample',
      config: { URL: 'https://repo.test', VERSIONS: '1,2,3' },
      packages: [{ name: 'app', config: { NAME: 'app' } }],
    },
  ],
  pipelines: [
    {
      name: 'build',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 'verify', jobs: job }],
    },
    {
      name: 'every',
      materials: [{ package: 'internal/app', trigger: 'every' }],
      stages: [{ name: 's', jobs: job }],
    },
    {
      name: 'gated',
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 'production', approval: 'manual', approvers: ['release'], jobs: job }],
    },
    {
      name: 'qa',
      materials: [{ pipeline: 'build', stage: 'verify' }, { package: 'internal/app' }],
      stages: [{ name: 'check', jobs: job }],
    },
    {
      name: 'deploy',
      materials: [{ pipeline: 'build', stage: 'verify' }],
      stages: [{ name: 'production', approval: 'manual', approvers: ['release'], jobs: job }],
    },
  ],
};

/** Marks a run's stage passed in the store, as the engine would. */
async function pass(store: Awaited<ReturnType<typeof harness>>['store'], run: RunRow) {
  const stage = run.stages[0];
  if (!stage) throw new Error('no stage');
  await store.changeRun(run.id, {
    run: { status: 'passed', finishedAt: 'now' },
    stages: [{ id: stage.id, patch: { status: 'passed' } }],
  });
  return (await store.getRun(run.pipeline, run.counter)) as RunRow;
}

describe('server/pipelines/scheduler (in process)', () => {
  it('schedules the pipelines that take a package from the repository, once per poll', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(1), sampleRevision(2)]);
    const names = h.started.map(
      (r) => `${r.pipeline}:${r.cause.packages['internal/app']?.revision}`,
    );
    // latest: the newest only; every: one run per revision, in order; gated, qa, deploy: none.
    expect(names).toEqual(['build:app-2', 'every:app-1', 'every:app-2']);
    expect(h.started.every((r) => r.trigger === 'poll')).toBe(true);
    expect(h.logger.lines.join('\n')).toContain(
      'not scheduled: its first stage is manual: an approver runs it',
    );
    expect(h.logger.lines.join('\n')).toContain(
      "not scheduled: upstream pipeline 'build' carries internal/app: this pipeline runs when its stage 'verify' passes",
    );
    // A poll never runs a pipeline twice for the same revisions.
    await h.scheduler.onRevisions(await h.polled('internal/app'), [sampleRevision(2)], 'schedule');
    expect(h.started).toHaveLength(3);
  });

  it('says check-now when a check someone asked for found the revision, and skips paused pipelines', async () => {
    const h = await harness(config);
    await h.store.setPipelinePaused('every', true);
    await h.found('internal/app', [sampleRevision(3)], 'manual');
    expect(h.started.map((r) => [r.pipeline, r.trigger])).toEqual([['build', 'check-now']]);
    expect(h.logger.lines.join('\n')).toContain('not scheduled: the pipeline is paused');
  });

  it('schedules downstream pipelines with the packages the upstream run tested', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(2)]);
    const build = await pass(h.store, h.started[0] as RunRow);
    await h.scheduler.onStagePassed(build, 'verify');
    // Pipelines are listed by name: deploy, then qa.
    expect(h.started.map((r) => r.pipeline)).toEqual(['build', 'every', 'deploy', 'qa']);
    const qa = h.started[3] as RunRow;
    expect(qa.cause.materials.map((m) => m.revision)).toEqual(['build/1/verify', 'app-2']);
    const deploy = h.started[2] as RunRow;
    expect(deploy).toMatchObject({ pipeline: 'deploy', trigger: 'upstream', status: 'waiting' });
    expect(deploy.cause.packages['internal/app']).toEqual(build.cause.packages['internal/app']);
    expect(deploy.stages[0]?.status).toBe('awaiting_approval');
  });

  it('lets only the approvers run a pipeline whose first stage is manual, and records the opening', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(3)]);
    await expect(h.scheduler.schedule('gated', {}, { name: 'bob' })).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
      message: "only release may run stage 'production' of gated",
    });
    const run = await h.scheduler.schedule(
      'gated',
      { comment: 'CAB-3' },
      { name: 'alice', groups: ['release'] },
    );
    expect(run.status).toBe('building');
    expect(run.stages[0]).toMatchObject({
      status: 'scheduled',
      approvedBy: 'alice',
      approvalComment: 'CAB-3',
    });
    const admin = await h.scheduler.schedule('gated', {}, { name: 'root', admin: true });
    expect(admin.stages[0]?.approvedBy).toBe('root');
  });

  it('pins a downstream run to a revision only through an upstream run that passed with it', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(1)]);
    await pass(h.store, h.started[0] as RunRow);
    await h.found('internal/app', [sampleRevision(2)]);
    const alice = { name: 'alice', groups: ['release'] };
    const pinned = await h.scheduler.schedule(
      'deploy',
      { revisions: { 'internal/app': 'app-1' } },
      alice,
    );
    expect(pinned.cause.materials[0]?.revision).toBe('build/1/verify');
    // build/2 (app-2) has not passed: no deploy of it.
    await expect(
      h.scheduler.schedule('deploy', { revisions: { 'internal/app': 'app-2' } }, alice),
    ).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
  });

  it('schedules the others when one pipeline fails, and shows the error on that one', async () => {
    const h = await harness(config);
    // A definition the store refuses at run creation (two stages of one name), stored as an
    // older server would have accepted it.
    const broken = (await h.store.getPipeline('build'))!;
    const definition = broken.definition as { stages: [JsonValue] };
    const stage = definition.stages[0];
    await h.store.savePipeline({
      ...broken,
      definition: { ...definition, stages: [stage, stage] },
    });
    const pkg = await h.polled('internal/app');
    await h.found('internal/app', [sampleRevision(1)]);
    // build sorts first: every (after it in order) still got its run.
    expect(h.started.map((r) => r.pipeline)).toEqual(['every']);
    const failed = await h.store.getPipeline('build');
    expect(failed?.schedulingError).toMatch(/UNIQUE constraint failed/);
    expect(h.logger.lines.join('\n')).toMatch(/scheduling failed: UNIQUE constraint failed/);
    expect(await h.scheduler.onRevisions(pkg, [sampleRevision(2)], 'schedule')).toBe(false);
    // Repaired: the next scheduling works, and clears the error.
    await h.store.savePipeline({ ...broken });
    expect(await h.scheduler.onRevisions(pkg, [sampleRevision(3)], 'schedule')).toBe(true);
    expect((await h.store.getPipeline('build'))?.schedulingError).toBeNull();
  });

  it('creates no second run when the same revisions or the same passed stage are scheduled again', async () => {
    const h = await harness(config);
    const [revision] = await h.found('internal/app', [sampleRevision(4)]);
    const pkg = await h.polled('internal/app');
    // As after a crash: the pending scheduling is completed once more.
    expect(await h.scheduler.onRevisions(pkg, [revision!], 'schedule')).toBe(true);
    expect(h.started.map((r) => r.pipeline)).toEqual(['build', 'every']);
    const build = await pass(h.store, h.started[0] as RunRow);
    await h.scheduler.onStagePassed(build, 'verify');
    await h.scheduler.onStagePassed(build, 'verify');
    expect(h.started.map((r) => r.pipeline)).toEqual(['build', 'every', 'deploy', 'qa']);
  });
});
