import { describe, expect, it } from 'vitest';
import type { BuildCause } from '../store/store.ts';
import {
  dependencyGroups,
  depthsOf,
  packageNode,
  rollbacks,
  runNode,
  streamEdges,
  upstreamNode,
} from './value-stream.ts';

const revision = (label: string, timestamp = '2026-01-01T00:00:00.000Z') => ({
  revision: label,
  timestamp,
  data: {},
});
const packaged = (counter: number, label: string, timestamp?: string) => ({
  counter,
  cause: {
    materials: [{ material: 'internal/app', type: 'package', revision: label, changed: true }],
    packages: { 'internal/app': revision(label, timestamp) },
  } as BuildCause,
});

describe('dependencyGroups', () => {
  it('orders each chain upstream first and keeps unrelated pipelines apart', () => {
    const groups = dependencyGroups([
      { name: 'deploy', upstream: ['build'] },
      { name: 'docs', upstream: [] },
      { name: 'build', upstream: [] },
      { name: 'smoke', upstream: ['deploy', 'build'] },
    ]);
    expect(groups).toEqual([['build', 'deploy', 'smoke'], ['docs']]);
  });

  it('ignores an unknown upstream and does not loop on a cycle', () => {
    expect(
      dependencyGroups([
        { name: 'a', upstream: ['b', 'gone'] },
        { name: 'b', upstream: ['a'] },
      ]),
    ).toEqual([['b', 'a']]);
  });

  it('gives a fan-in pipeline the depth of its longest upstream chain', () => {
    const depth = depthsOf([
      { name: 'build', upstream: [] },
      { name: 'lib', upstream: [] },
      { name: 'test', upstream: ['build'] },
      { name: 'release', upstream: ['test', 'lib'] },
    ]);
    expect(Object.fromEntries(depth)).toEqual({ build: 0, lib: 0, test: 1, release: 2 });
  });
});

describe('rollbacks', () => {
  it('marks a run that goes back to a revision the pipeline had moved past', () => {
    const runs = [packaged(1, 'app-1.0'), packaged(2, 'app-1.1'), packaged(3, 'app-1.0')];
    expect([...rollbacks(runs)]).toEqual([3]);
  });

  it('marks a run of an older package, and not a re-run of the same one', () => {
    const runs = [
      packaged(1, 'app-1.1', '2026-02-01T00:00:00.000Z'),
      packaged(2, 'app-1.1', '2026-02-01T00:00:00.000Z'),
      packaged(3, 'app-0.9', '2026-01-01T00:00:00.000Z'),
      packaged(4, 'app-1.2', '2026-03-01T00:00:00.000Z'),
    ];
    expect([...rollbacks(runs)]).toEqual([3]);
  });

  it('reads runs in counter order whatever the order given', () => {
    const runs = [packaged(3, 'app-1.0'), packaged(1, 'app-1.0'), packaged(2, 'app-1.1')];
    expect([...rollbacks(runs)]).toEqual([3]);
  });
});

describe('streamEdges', () => {
  it('joins runs to their upstream runs (fan-in) and to the packages they took', () => {
    const cause = (materials: BuildCause['materials']): BuildCause => ({ materials, packages: {} });
    const runs = [
      {
        pipeline: 'build',
        counter: 1,
        cause: cause([
          { material: 'internal/app', type: 'package', revision: 'app-1.0', changed: true },
        ]),
      },
      {
        pipeline: 'release',
        counter: 4,
        cause: cause([
          { material: 'build/verify', type: 'pipeline', revision: 'build/1/verify', changed: true },
          { material: 'lib/test', type: 'pipeline', revision: 'lib/7/test', changed: false },
          { material: 'tools/x', type: 'package', revision: 'x-2', changed: false },
        ]),
      },
    ];
    const present = new Set([
      packageNode('internal/app', 'app-1.0'),
      runNode('build', 1),
      runNode('lib', 7),
      runNode('release', 4),
    ]);
    expect(streamEdges(runs, present)).toEqual([
      { from: 'package:internal/app@app-1.0', to: 'run:build/1' },
      { from: 'run:build/1', to: 'run:release/4' },
      { from: 'run:lib/7', to: 'run:release/4' },
    ]);
  });

  it("reads an upstream material's revision as its run", () => {
    expect(upstreamNode('build/12/verify')).toBe('run:build/12');
    expect(upstreamNode('nonsense')).toBeUndefined();
  });
});
