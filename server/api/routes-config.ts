import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from 'hoist';
import { z } from 'zod';
import { sendAnswer } from './answers.ts';
import type { ServerContext } from './context.ts';
import { createPipelineOverview } from './overview.ts';
import { packageView, pipelineView, repositoryView } from './views.ts';

const Values = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);
const RepositoryBody = z.object({
  name: z.string(),
  plugin: z.string(),
  config: Values.default({}),
});
const RepositoryUpdate = z.object({ plugin: z.string().optional(), config: Values.default({}) });
const PackageBody = z.object({
  repository: z.string(),
  name: z.string(),
  config: Values.default({}),
  pollInterval: z.string().optional(),
});
const PackageUpdate = z.object({ config: Values.default({}), pollInterval: z.string().optional() });
const NameParam = z.object({ name: z.string() });

/** What the OpenAPI document says of secure variables in pipeline definitions. */
const SECURE_VARIABLES_IN =
  'A pipeline definition as in hoist.yaml. `variables` and `secureVariables` (name → value) may be given at pipeline, stage and job level; secure values are sealed before they are stored and never shown again. A PUT replaces the whole definition: give each secure variable again to keep it (an unchanged value keeps its sealed form); one left out is removed. Tasks may set `runIf: passed | failed | any` and `onCancel: { run } | { exec }`.';
const SECURE_VARIABLES_OUT =
  'The definition as stored, with `secureVariables` shown only as `{ NAME: "set" }` at every level.';
const PackageParams = z.object({ repository: z.string(), name: z.string() });

const PIPELINE_VIEW =
  'A pipeline: its definition (with `timer` and, from a template, `template` and `parameters`), `paused`, `source`, `schedulingError` while scheduling fails; with a timer, `nextTimer` (ISO time or null) and `lastTimer` ({at, outcome: "scheduled" | "skipped: …", counter?}) once it fired.';
const PIPELINE_BODY =
  'A pipeline definition as in hoist.yaml (name, materials, stages, timer?). Templates are declared in the configuration file: a body with `template` or `parameters` is refused with 422.';

/** Configuration routes: repositories, packages, pipelines (admin changes, viewer reads). */
export const configRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // YAML bodies (a configuration to apply) are read here only: this plugin's routes take them.
  app.addContentTypeParser(
    ['application/yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  );
  const read = { role: 'viewer' as const };
  const pipelines = createPipelineOverview(ctx.store, ctx.timers);
  const admin = { role: 'admin' as const };
  const view = async (name: string) =>
    repositoryView(await ctx.catalog.requireRepository(name), await ctx.store.listPackages(name));

  api.get('/api/repositories', { config: read, schema: { tags: ['configuration'] } }, async () => {
    const packages = await ctx.store.listPackages();
    return (await ctx.store.listRepositories()).map((r) => repositoryView(r, packages));
  });
  api.get(
    '/api/repositories/:name',
    { config: read, schema: { tags: ['configuration'], params: NameParam } },
    async (req) => view(req.params.name),
  );
  api.post(
    '/api/repositories',
    { config: admin, schema: { tags: ['configuration'], body: RepositoryBody } },
    async (req, reply) => {
      await ctx.catalog.createRepository(req.body);
      return reply.code(201).send(await view(req.body.name));
    },
  );
  api.put(
    '/api/repositories/:name',
    {
      config: admin,
      schema: { tags: ['configuration'], params: NameParam, body: RepositoryUpdate },
    },
    async (req) => {
      await ctx.catalog.updateRepository(req.params.name, req.body);
      return view(req.params.name);
    },
  );
  api.delete(
    '/api/repositories/:name',
    { config: admin, schema: { tags: ['configuration'], params: NameParam } },
    async (req, reply) => {
      await ctx.catalog.deleteRepository(req.params.name);
      return reply.code(204).send();
    },
  );

  api.get('/api/packages', { config: read, schema: { tags: ['configuration'] } }, async () =>
    (await ctx.store.listPackages()).map((p) => packageView(p)),
  );
  api.get(
    '/api/packages/:repository/:name',
    { config: read, schema: { tags: ['configuration'], params: PackageParams } },
    async (req) => {
      const row = await ctx.store.getPackage(req.params.repository, req.params.name);
      if (!row) throw new NotFoundError(`no package '${req.params.repository}/${req.params.name}'`);
      return packageView(row);
    },
  );
  api.post(
    '/api/packages',
    { config: admin, schema: { tags: ['configuration'], body: PackageBody } },
    async (req, reply) => {
      await ctx.catalog.createPackage(req.body);
      const row = await ctx.store.getPackage(req.body.repository, req.body.name);
      return reply.code(201).send(row && packageView(row));
    },
  );
  api.put(
    '/api/packages/:repository/:name',
    {
      config: admin,
      schema: { tags: ['configuration'], params: PackageParams, body: PackageUpdate },
    },
    async (req) => {
      await ctx.catalog.updatePackage(req.params.repository, req.params.name, req.body);
      const row = await ctx.store.getPackage(req.params.repository, req.params.name);
      return row && packageView(row);
    },
  );
  api.delete(
    '/api/packages/:repository/:name',
    { config: admin, schema: { tags: ['configuration'], params: PackageParams } },
    async (req, reply) => {
      await ctx.catalog.deletePackage(req.params.repository, req.params.name);
      return reply.code(204).send();
    },
  );

  const lockNote =
    'A pipeline whose lock a run holds has `locked: { heldBy: COUNTER, state: running | failed }`; `lock` is its configured behaviour (absent: none).';
  api.get(
    '/api/pipelines',
    {
      config: read,
      schema: {
        tags: ['configuration'],
        description: `${PIPELINE_VIEW} ${lockNote} ${SECURE_VARIABLES_OUT}`,
      },
    },
    async (req, reply) => sendAnswer(req, reply, await pipelines.render()),
  );
  api.get(
    '/api/pipelines/:name',
    {
      config: read,
      schema: {
        tags: ['configuration'],
        params: NameParam,
        description: `${PIPELINE_VIEW} ${lockNote} ${SECURE_VARIABLES_OUT}`,
      },
    },
    async (req) => {
      const row = await ctx.store.getPipeline(req.params.name);
      if (!row) throw new NotFoundError(`no pipeline '${req.params.name}'`);
      return pipelineView(row, ctx.timers.view(row.name), await ctx.store.getLock(row.name));
    },
  );
  api.post(
    '/api/pipelines',
    {
      config: admin,
      schema: {
        tags: ['configuration'],
        body: z.unknown(),
        description: `${PIPELINE_BODY} ${SECURE_VARIABLES_IN}`,
      },
    },
    async (req, reply) => {
      await ctx.catalog.savePipeline(req.body, 'create');
      return reply.code(201).send({ name: (req.body as { name: string }).name });
    },
  );
  api.put(
    '/api/pipelines/:name',
    {
      config: admin,
      schema: {
        tags: ['configuration'],
        params: NameParam,
        body: z.unknown(),
        description: `${PIPELINE_BODY} ${SECURE_VARIABLES_IN}`,
      },
    },
    async (req) => {
      await ctx.catalog.savePipeline(req.body, 'update', req.params.name);
      return { name: req.params.name };
    },
  );
  api.delete(
    '/api/pipelines/:name',
    { config: admin, schema: { tags: ['configuration'], params: NameParam } },
    async (req, reply) => {
      await ctx.catalog.deletePipeline(req.params.name);
      return reply.code(204).send();
    },
  );

  api.post(
    '/api/config/apply',
    { config: admin, schema: { tags: ['configuration'] } },
    async (req) => {
      const text = typeof req.body === 'string' && req.body.trim() !== '' ? req.body : undefined;
      const summary = await ctx.applyConfig(text);
      return summary;
    },
  );
};
