import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, PipelineView } from '../server/api/schemas/index.ts';
import { buildRpms, createrepo, tempRepoDir } from './helpers/rpm-repo.ts';
import { jobOutput, type Run, runsOf, until } from './helpers/runs.ts';
import { type ServerProcess, startServer, writeConfig } from './helpers/server-process.ts';
import { type StaticServer, serveDirectory } from './helpers/static-server.ts';

describe('templates with parameters (server process, real yum repository)', () => {
  let dir: string;
  let repo: StaticServer;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempRepoDir();
    await buildRpms(dir, [
      { name: 'billing', version: '1.0' },
      { name: 'search', version: '2.0' },
    ]);
    await createrepo(dir);
    repo = await serveDirectory(dir);
    server = await startServer({
      config: writeConfig(`
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages:
      - { name: billing, config: { PACKAGE_SPEC: billing }, pollInterval: 1h }
      - { name: search, config: { PACKAGE_SPEC: search }, pollInterval: 1h }
templates:
  - name: service
    parameters: [service, { name: region, default: eu-1 }]
    stages:
      - name: build-#{service}
        jobs:
          - name: record
            tasks:
              - run: echo "SERVICE=#{service}"; echo "REGION=#{region}"; echo "PIPELINE=$HOIST_PIPELINE_NAME"; echo "HASH=##{literal}"
pipelines:
  - name: svc-billing
    template: service
    parameters: { service: billing }
    materials: [{ package: 'internal/#{service}' }]
  - name: svc-search
    template: service
    parameters: { service: search, region: us-2 }
    materials: [{ package: internal/search }]
`),
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const passed = (pipeline: string, counter: number) =>
    until(server, pipeline, counter, (r) => r.status === 'passed');

  it('makes two pipelines that run independently, each with its own values', async () => {
    const billing = await passed('svc-billing', 1);
    const search = await passed('svc-search', 1);
    expect(billing.cause.packages['internal/billing']?.revision).toBe('billing-1.0-1.noarch');
    expect(search.cause.packages['internal/search']?.revision).toBe('search-2.0-1.noarch');
    expect(billing.stages.map((s) => s.name)).toEqual(['build-billing']);
    expect(await jobOutput(server, 'svc-billing', 1, 'build-billing', 'record')).toEqual({
      SERVICE: 'billing',
      REGION: 'eu-1',
      PIPELINE: 'svc-billing',
      HASH: '#{literal}',
    });
    expect(await jobOutput(server, 'svc-search', 1, 'build-search', 'record')).toEqual({
      SERVICE: 'search',
      REGION: 'us-2',
      PIPELINE: 'svc-search',
      HASH: '#{literal}',
    });
    // A new billing version runs svc-billing only.
    await buildRpms(dir, [{ name: 'billing', version: '1.1' }]);
    await createrepo(dir);
    await server.api('POST', '/api/materials/check', { repository: 'internal' });
    const second = await passed('svc-billing', 2);
    expect(second.cause.packages['internal/billing']?.revision).toBe('billing-1.1-1.noarch');
    expect((await runsOf(server, 'svc-search')).map((r: Run) => r.counter)).toEqual([1]);
  });

  it('shows that a pipeline comes from a template, and with which values', async () => {
    const { body } = await server.api<PipelineView>('GET', '/api/pipelines/svc-search');
    expect(body.template).toBe('service');
    expect(body.parameters).toEqual({ service: 'search', region: 'us-2' });
    const list = (await server.api<PipelineView[]>('GET', '/api/pipelines')).body;
    expect(list.find((p) => p.name === 'svc-billing')?.materials[0]?.package).toBe(
      'internal/billing',
    );
  });

  it('refuses a template over the API, and an apply whose pipeline lacks a parameter', async () => {
    const refused = await server.api<ErrorBody>('POST', '/api/pipelines', {
      name: 'svc-x',
      template: 'service',
      parameters: { service: 'x' },
      materials: [],
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.issues?.map((i) => i.key)).toEqual(['template', 'parameters']);
    const applied = await server.api<ErrorBody>(
      'POST',
      '/api/config/apply',
      `
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repo.url}" }
    packages: [{ name: billing, config: { PACKAGE_SPEC: billing } }]
templates:
  - { name: service, parameters: [service], stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "echo #{service}" }] }] }] }
pipelines:
  - { name: a, template: service, parameters: { service: billing }, materials: [{ package: internal/billing }] }
  - { name: b, template: service, materials: [{ package: internal/billing }] }
`,
    );
    expect(applied.status).toBe(422);
    expect(applied.body.error.issues).toEqual([
      {
        key: 'pipelines[1].parameters',
        message:
          "pipeline 'b' does not give parameter 'service' that template 'service' uses at templates[0].stages[0].jobs[0].tasks[0].run",
      },
    ]);
  });
});
