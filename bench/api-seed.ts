import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../server/store/sqlite.ts';
import type { Store } from '../server/store/store.ts';
import { BENCH_TOKEN, type HoistProcess, startHoist } from './hoist-process.ts';
import { sweepConfig } from './server-load.ts';

/** How big a seeded server is. */
export interface SeedSize {
  repositories: number;
  perRepository: number;
  pipelines: number;
  /** Revisions and checks stored for every material before the server starts. */
  revisions: number;
  /** Finished runs stored for every pipeline. */
  runs: number;
  /** How often the server polls each material (`60s`: checks go on during the measure). */
  pollInterval: string;
}

/** A seeded `hoist serve` and its work folder. */
export interface SeededServer extends HoistProcess {
  work: string;
  materials: number;
}

/**
 * Starts `hoist serve` over the sweep repositories with `pipelines` pipelines (each on one
 * package), stops it once every material exists, stores a history directly in its SQLite
 * database (revisions and checks per material, finished runs per pipeline), and starts it again.
 */
export async function startSeededServer(
  cache: string,
  baseUrl: string,
  size: SeedSize,
): Promise<SeededServer> {
  const work = mkdtempSync(join(tmpdir(), 'hoist-api-load-'));
  const materials = size.repositories * size.perRepository;
  writeFileSync(join(work, 'hoist.yaml'), seedConfig(cache, baseUrl, size));
  const first = await startHoist(work);
  try {
    await waitForMaterials(first.url, materials);
  } finally {
    first.stop();
    await first.exited;
  }
  const store = openSqliteStore(join(work, 'data', 'hoist.db'));
  try {
    await seedHistory(store, size);
  } finally {
    await store.close();
  }
  return { ...(await startHoist(work)), work, materials };
}

/** The sweep configuration and `pipelines` pipelines, pipeline i on package i (round robin). */
function seedConfig(cache: string, baseUrl: string, size: SeedSize): string {
  const lines = [
    sweepConfig(cache, baseUrl, size.repositories, size.perRepository, size.pollInterval),
    'pipelines:',
  ];
  const packages = packageNames(size);
  for (let i = 0; i < size.pipelines; i++) {
    lines.push(
      `  - name: pipe${i}`,
      `    materials: [{ package: ${packages[i % packages.length]} }]`,
      '    stages:',
      '      - { name: build, jobs: [{ name: compile, tasks: [{ run: "true" }] }, { name: test, tasks: [{ run: "true" }] }] }',
      '      - { name: deploy, approval: manual, jobs: [{ name: ship, tasks: [{ run: "true" }] }] }',
    );
  }
  return lines.join('\n');
}

/** `r<i>/p<j>` of the sweep configuration, in its order. */
function packageNames(size: SeedSize): string[] {
  const names: string[] = [];
  for (let i = 0; i < size.repositories; i++) {
    for (let j = 0, taken = 0; taken < size.perRepository; j++) {
      if (j === 7) continue;
      taken++;
      names.push(`r${i}/p${j}`);
    }
  }
  return names;
}

async function waitForMaterials(url: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/api/materials?checks=0`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    });
    if (response.ok && ((await response.json()) as unknown[]).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server did not list ${count} materials within 120 s`);
}

async function seedHistory(store: Store, size: SeedSize): Promise<void> {
  const packages = await store.listPackages();
  const revisionOf = new Map<string, string>();
  for (const pkg of packages) {
    const material = await store.getMaterial(pkg.fingerprint);
    for (let k = 0; k < size.revisions; k++) {
      const revision = `${pkg.name}-0:1.${k}-1.el9.x86_64`;
      revisionOf.set(`${pkg.repository}/${pkg.name}`, revision);
      const startedAt = new Date(Date.now() - (size.revisions - k) * 3_600_000).toISOString();
      await store.recordCheck({
        fingerprint: pkg.fingerprint,
        plugin: material?.plugin ?? 'yum',
        revisions: [
          {
            revision,
            timestamp: startedAt,
            data: { NAME: pkg.name, VERSION: `1.${k}`, RELEASE: '1.el9', ARCH: 'x86_64' },
          },
        ],
        state: material?.state ?? {},
        check: {
          startedAt,
          durationMs: 12,
          outcome: 'new',
          errorCode: null,
          error: null,
          decision: 'found a newer revision; next check in 60s',
          trigger: 'schedule',
          instance: null,
          newRevisions: [],
        },
        nextCheckAt: null,
        failures: 0,
        lastError: null,
        lastErrorCode: null,
        owner: 'seed',
      });
    }
  }
  for (const pipeline of await store.listPipelines()) {
    const material = (pipeline.definition as { materials: { package: string }[] }).materials[0]
      ?.package as string;
    for (let k = 0; k < size.runs; k++) await seedRun(store, pipeline.name, material, revisionOf);
  }
}

async function seedRun(
  store: Store,
  pipeline: string,
  material: string,
  revisionOf: Map<string, string>,
): Promise<void> {
  const revision = revisionOf.get(material) ?? 'none';
  const run = await store.createRun({
    pipeline,
    cause: {
      materials: [{ material, type: 'package', revision, changed: true }],
      packages: { [material]: { revision, timestamp: new Date().toISOString(), data: {} } },
    },
    revisionKey: `${material}@${revision}`,
    dedupe: false,
    trigger: 'poll',
    triggeredBy: null,
    stages: [
      { name: 'build', approval: 'auto', jobs: ['compile', 'test'] },
      { name: 'deploy', approval: 'manual', jobs: ['ship'] },
    ],
  });
  if (!run) return;
  const at = new Date().toISOString();
  await store.changeRun(run.id, {
    run: { status: 'passed', finishedAt: at },
    stages: run.stages.map((s) => ({
      id: s.id,
      patch: { status: 'passed', startedAt: at, finishedAt: at },
    })),
    jobs: run.stages.flatMap((s) =>
      s.jobs.map((j) => ({
        id: j.id,
        patch: { status: 'passed', startedAt: at, finishedAt: at, exitCode: 0 },
      })),
    ),
  });
}
