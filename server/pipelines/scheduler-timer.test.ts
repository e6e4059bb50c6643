import { describe, expect, it } from 'vitest';
import { harness } from '../../test/helpers/harness.ts';
import { sampleRevision } from '../../test/helpers/sample-plugin.ts';

const job = [{ name: 'j', tasks: [{ run: 'true' }] }];
const config = {
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
      name: 'nightly',
      timer: { cron: '0 2 * * *', onlyOnChanges: true },
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 'staging', approval: 'manual', jobs: job }],
    },
    {
      name: 'hourly',
      timer: { cron: '0 * * * *' },
      materials: [{ package: 'internal/app' }],
      stages: [{ name: 's', jobs: job }],
    },
  ],
};

describe('server/pipelines/scheduler: timers (in process)', () => {
  it('runs the newest revision, once per firing, opening a manual first stage', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(1)]);
    // A new revision does not start a pipeline whose first stage is manual; its timer does.
    expect(h.started.map((r) => r.pipeline)).toEqual(['hourly']);
    const fired = await h.scheduler.onTimer('nightly', '2026-12-01T02:00:00.000Z');
    expect(fired).toEqual({ outcome: 'scheduled', counter: 1 });
    const run = h.started.at(-1);
    expect(run?.trigger).toBe('timer');
    expect(run?.status).toBe('building');
    expect(run?.stages[0]?.approvedBy).toBe('timer');
    expect(run?.cause.packages['internal/app']?.revision).toBe('app-1');
    // The same firing again (another instance): no second run.
    const at = '2026-12-01T03:00:00.000Z';
    expect(await h.scheduler.onTimer('hourly', at)).toEqual({ outcome: 'scheduled', counter: 2 });
    expect(await h.scheduler.onTimer('hourly', at)).toEqual({
      outcome: 'scheduled',
      by: 'another instance',
    });
    expect(h.started).toHaveLength(3);
  });

  it('with onlyOnChanges skips a firing when nothing is new, and runs once something is', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(1)]);
    await h.scheduler.onTimer('nightly', '2026-12-01T02:00:00.000Z');
    expect(await h.scheduler.onTimer('nightly', '2026-12-02T02:00:00.000Z')).toEqual({
      outcome: 'skipped: nothing new since run 1',
    });
    // Without onlyOnChanges every firing runs.
    await h.scheduler.onTimer('hourly', '2026-12-01T03:00:00.000Z');
    expect(h.started.filter((r) => r.pipeline === 'hourly')).toHaveLength(2);
    await h.found('internal/app', [sampleRevision(2)]);
    expect(await h.scheduler.onTimer('nightly', '2026-12-03T02:00:00.000Z')).toEqual({
      outcome: 'scheduled',
      counter: 2,
    });
    expect(h.started.at(-1)?.cause.packages['internal/app']?.revision).toBe('app-2');
  });

  it('does not fire for a paused pipeline', async () => {
    const h = await harness(config);
    await h.found('internal/app', [sampleRevision(1)]);
    await h.store.setPipelinePaused('nightly', true);
    expect(await h.scheduler.onTimer('nightly', '2026-12-01T02:00:00.000Z')).toEqual({
      outcome: 'skipped: the pipeline is paused',
    });
  });
});
