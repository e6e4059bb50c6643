import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError, toGoCdProperties } from 'hoist';
import { z } from 'zod';
import { sendAnswer } from './answers.ts';
import type { ServerContext } from './context.ts';
import { createMaterialOverview } from './overview.ts';
import {
  CheckRequest,
  ConnectionCheck,
  errorsOf,
  Health,
  Instance,
  Material,
  Plugin,
  Principal,
  QueuedChecks,
  StoredRevision,
} from './schemas/index.ts';

/** Prometheus' text format. */
const METRICS_TEXT = {
  description: 'Metrics in the Prometheus text format.',
  content: { 'text/plain': { schema: z.string() } },
};

/** Plugins, materials and check-now; health and metrics. */
export const materialRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // Dashboards poll this: each material's history is encoded once, kept until it changes.
  const overview = createMaterialOverview(ctx.store);

  api.get(
    '/api/whoami',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        operationId: 'whoami',
        summary: 'Who the token is',
        response: { 200: Principal, ...errorsOf(401) },
      },
    },
    async (req) => req.principal as Principal,
  );

  api.get(
    '/api/health',
    {
      schema: {
        tags: ['system'],
        operationId: 'health',
        summary: 'Is the server up (no token needed)',
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  api.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        response: { 200: METRICS_TEXT, ...errorsOf(401) },
      },
    },
    async (_req, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.scrape(ctx)),
  );

  api.get(
    '/api/instances',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        operationId: 'listInstances',
        summary: 'Server instances sharing the store, and the leases they hold',
        response: { 200: z.array(Instance), ...errorsOf(401) },
      },
    },
    async () => {
      const now = Date.now();
      const { id, leaseMs } = ctx.instance;
      // Instances that stopped cleanly leave the list; one that died stays for a day, not alive.
      return (await ctx.store.listInstances(now - 86_400_000)).map((i) => ({
        ...i,
        alive: Date.parse(i.heartbeatAt) >= now - leaseMs,
        self: i.id === id,
      }));
    },
  );

  // Every plugin with its state: one that failed to load is listed with why, beside the others.
  api.get(
    '/api/plugins',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['plugins'],
        operationId: 'listPlugins',
        summary: 'Package-repository plugins: their state and properties',
        response: { 200: z.array(Plugin), ...errorsOf(401) },
      },
    },
    async () =>
      ctx.plugins.list().map((status) => {
        const p = ctx.host.registry.has(status.id) ? ctx.host.registry.get(status.id) : undefined;
        if (!p || status.state === 'failed')
          return {
            id: status.id,
            version: status.version,
            displayName: status.name,
            kind: status.kind,
            state: 'failed' as const,
            error: status.error ?? null,
          };
        return {
          id: p.id,
          version: p.version,
          displayName: p.displayName,
          kind: status.kind,
          state: 'loaded' as const,
          description: p.description ?? null,
          repositoryProperties: [...p.repositoryProperties],
          packageProperties: [...p.packageProperties],
          gocd: {
            'repository-configuration': toGoCdProperties(p.repositoryProperties),
            'package-configuration': toGoCdProperties(p.packageProperties),
          },
        };
      }),
  );

  // GoCD's two connection checks: every failure is an answer, {"status":"failure","messages"}.
  const wire = (r: { ok: boolean; messages: string[] }) => ({
    status: r.ok ? ('success' as const) : ('failure' as const),
    messages: r.messages,
  });
  /** A plugin that failed to load answers its connection checks with why. */
  const unloaded = (plugin: string) => {
    const why = ctx.plugins.failed().get(plugin);
    return why === undefined
      ? undefined
      : wire({ ok: false, messages: [`plugin '${plugin}' failed to load: ${why}`] });
  };
  api.post(
    '/api/repositories/:name/check-connection',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['configuration'],
        operationId: 'checkRepositoryConnection',
        summary: "Check a repository's connection (GoCD's check-repository-connection)",
        params: z.object({ name: z.string() }),
        response: { 200: ConnectionCheck, ...errorsOf(401, 403, 404) },
      },
    },
    async (req) => {
      const repo = await ctx.catalog.openedRepository(req.params.name);
      return (
        unloaded(repo.plugin) ??
        wire(await ctx.host.checkRepositoryConnection(repo.plugin, repo.config))
      );
    },
  );
  api.post(
    '/api/packages/:repo/:name/check-connection',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['configuration'],
        operationId: 'checkPackageConnection',
        summary: "Check a package's connection (GoCD's check-package-connection)",
        params: z.object({ repo: z.string(), name: z.string() }),
        response: { 200: ConnectionCheck, ...errorsOf(401, 403, 404) },
      },
    },
    async (req) => {
      const pkg = (await ctx.catalog.polledPackages()).find(
        (p) => p.repository === req.params.repo && p.name === req.params.name,
      );
      if (!pkg) throw new NotFoundError(`no package '${req.params.repo}/${req.params.name}'`);
      return (
        unloaded(pkg.plugin) ??
        wire(
          await ctx.host.checkPackageConnection(
            pkg.plugin,
            pkg.repositoryConfig,
            pkg.packageConfig,
          ),
        )
      );
    },
  );

  api.get(
    '/api/materials',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['materials'],
        operationId: 'listMaterials',
        summary: 'Every polled package with its latest revision and last checks',
        querystring: z.object({ checks: z.coerce.number().int().min(0).max(100).default(1) }),
        response: { 200: z.array(Material), ...errorsOf(400, 401) },
      },
    },
    async (req, reply) => {
      const due = ctx.poller.schedule();
      return sendAnswer(
        req,
        reply,
        await overview.render(req.query.checks, due, ctx.poller.shared),
      );
    },
  );

  api.get(
    '/api/materials/:fingerprint/revisions',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['materials'],
        operationId: 'listRevisions',
        summary: "A material's revision history, newest first",
        params: z.object({ fingerprint: z.string() }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.array(StoredRevision), ...errorsOf(400, 401, 404) },
      },
    },
    async (req) => {
      if (!(await ctx.store.getMaterial(req.params.fingerprint)))
        throw new NotFoundError(`no material ${req.params.fingerprint}`);
      return ctx.store.listRevisions(req.params.fingerprint, req.query.limit);
    },
  );

  api.post(
    '/api/materials/check',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['materials'],
        operationId: 'checkNow',
        summary: 'Check the packages of a repository now',
        description:
          'By repository name, or by URL (the hook a publisher calls after createrepo_c). Answers 202 at once; the checks run in the background.',
        body: CheckRequest,
        response: { 202: QueuedChecks, ...errorsOf(400, 401, 403, 404, 507) },
      },
    },
    async (req, reply) => {
      const packages = await ctx.catalog.polledPackages();
      const body = req.body as { repository?: string; url?: string };
      const norm = (u: string) => u.replace(/\/+$/, '');
      const matched = packages.filter((p) =>
        body.repository !== undefined
          ? p.repository === body.repository
          : ['REPO_URL', 'MIRRORLIST', 'METALINK', 'URL'].some(
              (k) =>
                p.repositoryConfig[k] &&
                norm(p.repositoryConfig[k] as string) === norm(body.url as string),
            ),
      );
      if (matched.length === 0) {
        throw new NotFoundError(
          body.repository !== undefined
            ? `no packages in repository '${body.repository}'`
            : `no repository has the URL ${body.url}`,
        );
      }
      const queued = await ctx.poller.checkNow(matched.map((p) => p.fingerprint));
      return reply.code(202).send({
        queued: queued.map((p) => ({
          repository: p.repository,
          package: p.name,
          fingerprint: p.fingerprint,
        })),
      });
    },
  );
};
