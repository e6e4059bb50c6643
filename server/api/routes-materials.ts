import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError, toGoCdProperties } from 'hoist';
import { z } from 'zod';
import { sendAnswer } from './answers.ts';
import type { ServerContext } from './context.ts';
import { createMaterialOverview } from './overview.ts';

const CheckBody = z.union([
  z.object({ repository: z.string().min(1) }).strict(),
  z.object({ url: z.string().min(1) }).strict(),
]);

/** Plugins, materials and check-now; health and metrics. */
export const materialRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // Dashboards poll this: each material's history is encoded once, kept until it changes.
  const overview = createMaterialOverview(ctx.store);

  api.get(
    '/api/whoami',
    { config: { role: 'viewer' }, schema: { tags: ['system'] } },
    async (req) => req.principal,
  );

  api.get('/api/health', { schema: { tags: ['system'], security: [] } }, async () => ({
    status: 'ok',
  }));

  api.get(
    '/metrics',
    { config: { role: 'viewer' }, schema: { tags: ['system'] } },
    async (_req, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.scrape(ctx)),
  );

  api.get(
    '/api/instances',
    { config: { role: 'viewer' }, schema: { tags: ['system'] } },
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
  api.get('/api/plugins', { config: { role: 'viewer' }, schema: { tags: ['plugins'] } }, async () =>
    ctx.plugins.list().map((status) => {
      const p = ctx.host.registry.has(status.id) ? ctx.host.registry.get(status.id) : undefined;
      if (!p || status.state === 'failed')
        return { ...status, displayName: status.name, error: status.error ?? null };
      return {
        id: p.id,
        version: p.version,
        displayName: p.displayName,
        kind: status.kind,
        state: status.state,
        description: p.description ?? null,
        repositoryProperties: p.repositoryProperties,
        packageProperties: p.packageProperties,
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
      schema: { tags: ['configuration'], params: z.object({ name: z.string() }) },
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
      schema: { tags: ['configuration'], params: z.object({ repo: z.string(), name: z.string() }) },
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
        querystring: z.object({ checks: z.coerce.number().int().min(0).max(100).default(1) }),
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
        params: z.object({ fingerprint: z.string() }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
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
    { config: { role: 'operator' }, schema: { tags: ['materials'], body: CheckBody } },
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
