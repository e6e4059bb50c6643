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

  api.get('/api/plugins', { config: { role: 'viewer' }, schema: { tags: ['plugins'] } }, async () =>
    ctx.host.registry.list().map((p) => ({
      id: p.id,
      version: p.version,
      displayName: p.displayName,
      description: p.description ?? null,
      repositoryProperties: p.repositoryProperties,
      packageProperties: p.packageProperties,
      gocd: {
        'repository-configuration': toGoCdProperties(p.repositoryProperties),
        'package-configuration': toGoCdProperties(p.packageProperties),
      },
    })),
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
