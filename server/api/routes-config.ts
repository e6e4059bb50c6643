import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from 'hoist';
import { z } from 'zod';
import { sendAnswer } from './answers.ts';
import type { ServerContext } from './context.ts';
import { YAML_BODY } from './openapi.ts';
import { createPipelineOverview } from './overview.ts';
import {
  ApplySummary,
  errorsOf,
  NoContent,
  Package,
  PipelineDefinition,
  PipelineName,
  PipelineView,
  Repository,
} from './schemas/index.ts';
import { packageView, pipelineView, repositoryView } from './views.ts';

const TAGS = ['configuration'];
/** Errors of a change: refused input, the token, a name in use, an invalid object, a full disk. */
const CHANGE_ERRORS = errorsOf(400, 401, 403, 409, 422, 507);
const meta = (operationId: string, summary: string) => ({ tags: TAGS, operationId, summary });

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
  const requirePackage = async (repository: string, name: string) => {
    const row = await ctx.store.getPackage(repository, name);
    if (!row) throw new NotFoundError(`no package '${repository}/${name}'`);
    return row;
  };
  const view = async (name: string) =>
    repositoryView(await ctx.catalog.requireRepository(name), await ctx.store.listPackages(name));

  api.get(
    '/api/repositories',
    {
      config: read,
      schema: {
        ...meta('listRepositories', 'Package repositories'),
        response: { 200: z.array(Repository), ...errorsOf(401) },
      },
    },
    async () => {
      const packages = await ctx.store.listPackages();
      return (await ctx.store.listRepositories()).map((r) => repositoryView(r, packages));
    },
  );
  api.get(
    '/api/repositories/:name',
    {
      config: read,
      schema: {
        ...meta('getRepository', 'A package repository'),
        params: NameParam,
        response: { 200: Repository, ...errorsOf(401, 404) },
      },
    },
    async (req) => view(req.params.name),
  );
  api.post(
    '/api/repositories',
    {
      config: admin,
      schema: {
        ...meta('createRepository', 'Add a package repository'),
        body: RepositoryBody,
        response: { 201: Repository, ...CHANGE_ERRORS, ...errorsOf(404) },
      },
    },
    async (req, reply) => {
      await ctx.catalog.createRepository(req.body);
      return reply.code(201).send(await view(req.body.name));
    },
  );
  api.put(
    '/api/repositories/:name',
    {
      config: admin,
      schema: {
        ...meta('updateRepository', 'Change a package repository'),
        params: NameParam,
        body: RepositoryUpdate,
        response: { 200: Repository, ...CHANGE_ERRORS, ...errorsOf(404) },
      },
    },
    async (req) => {
      await ctx.catalog.updateRepository(req.params.name, req.body);
      return view(req.params.name);
    },
  );
  api.delete(
    '/api/repositories/:name',
    {
      config: admin,
      schema: {
        ...meta('deleteRepository', 'Remove a package repository'),
        params: NameParam,
        response: { 204: NoContent, ...errorsOf(401, 403, 404, 409, 507) },
      },
    },
    async (req, reply) => {
      await ctx.catalog.deleteRepository(req.params.name);
      return reply.code(204).send();
    },
  );

  api.get(
    '/api/packages',
    {
      config: read,
      schema: {
        ...meta('listPackages', 'Packages of every repository'),
        response: { 200: z.array(Package), ...errorsOf(401) },
      },
    },
    async () => (await ctx.store.listPackages()).map((p) => packageView(p)),
  );
  api.get(
    '/api/packages/:repository/:name',
    {
      config: read,
      schema: {
        ...meta('getPackage', 'A package'),
        params: PackageParams,
        response: { 200: Package, ...errorsOf(401, 404) },
      },
    },
    async (req) => {
      const row = await ctx.store.getPackage(req.params.repository, req.params.name);
      if (!row) throw new NotFoundError(`no package '${req.params.repository}/${req.params.name}'`);
      return packageView(row);
    },
  );
  api.post(
    '/api/packages',
    {
      config: admin,
      schema: {
        ...meta('createPackage', 'Add a package to a repository'),
        body: PackageBody,
        response: { 201: Package, ...CHANGE_ERRORS, ...errorsOf(404) },
      },
    },
    async (req, reply) => {
      await ctx.catalog.createPackage(req.body);
      const row = await requirePackage(req.body.repository, req.body.name);
      return reply.code(201).send(packageView(row));
    },
  );
  api.put(
    '/api/packages/:repository/:name',
    {
      config: admin,
      schema: {
        ...meta('updatePackage', 'Change a package'),
        params: PackageParams,
        body: PackageUpdate,
        response: { 200: Package, ...CHANGE_ERRORS, ...errorsOf(404) },
      },
    },
    async (req) => {
      await ctx.catalog.updatePackage(req.params.repository, req.params.name, req.body);
      return packageView(await requirePackage(req.params.repository, req.params.name));
    },
  );
  api.delete(
    '/api/packages/:repository/:name',
    {
      config: admin,
      schema: {
        ...meta('deletePackage', 'Remove a package'),
        params: PackageParams,
        response: { 204: NoContent, ...errorsOf(401, 403, 404, 409, 507) },
      },
    },
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
        ...meta('listPipelines', 'Pipelines with their state'),
        description: `${PIPELINE_VIEW} ${lockNote} ${SECURE_VARIABLES_OUT}`,
        response: { 200: z.array(PipelineView), ...errorsOf(401) },
      },
    },
    async (req, reply) => sendAnswer(req, reply, await pipelines.render()),
  );
  api.get(
    '/api/pipelines/:name',
    {
      config: read,
      schema: {
        ...meta('getPipeline', 'A pipeline with its state'),
        params: NameParam,
        description: `${PIPELINE_VIEW} ${lockNote} ${SECURE_VARIABLES_OUT}`,
        response: { 200: PipelineView, ...errorsOf(401, 404) },
      },
    },
    async (req) => {
      const row = await ctx.store.getPipeline(req.params.name);
      if (!row) throw new NotFoundError(`no pipeline '${req.params.name}'`);
      const lock = await ctx.store.getLock(row.name);
      return pipelineView(row, ctx.timers.view(row.name), lock) as PipelineView;
    },
  );
  api.post(
    '/api/pipelines',
    {
      config: admin,
      schema: {
        ...meta('createPipeline', 'Add a pipeline'),
        body: PipelineDefinition,
        description: `${PIPELINE_BODY} ${SECURE_VARIABLES_IN}`,
        response: { 201: PipelineName, ...CHANGE_ERRORS },
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
        ...meta('updatePipeline', 'Replace a pipeline definition'),
        params: NameParam,
        body: PipelineDefinition,
        description: `${PIPELINE_BODY} ${SECURE_VARIABLES_IN}`,
        response: { 200: PipelineName, ...CHANGE_ERRORS, ...errorsOf(404) },
      },
    },
    async (req) => {
      await ctx.catalog.savePipeline(req.body, 'update', req.params.name);
      return { name: req.params.name };
    },
  );
  api.delete(
    '/api/pipelines/:name',
    {
      config: admin,
      schema: {
        ...meta('deletePipeline', 'Remove a pipeline'),
        params: NameParam,
        response: { 204: NoContent, ...errorsOf(401, 403, 404, 409, 507) },
      },
    },
    async (req, reply) => {
      await ctx.catalog.deletePipeline(req.params.name);
      return reply.code(204).send();
    },
  );

  api.post(
    '/api/config/apply',
    {
      config: admin,
      schema: {
        ...meta('applyConfig', 'Apply a configuration'),
        description:
          'With a YAML body (`application/yaml`), applies that configuration; without one, reads the configuration file again. What it no longer names of what an earlier configuration made is removed.',
        ...YAML_BODY,
        response: { 200: ApplySummary, ...CHANGE_ERRORS },
      },
    },
    async (req) => {
      const text = typeof req.body === 'string' && req.body.trim() !== '' ? req.body : undefined;
      const summary = await ctx.applyConfig(text);
      return summary;
    },
  );
};
