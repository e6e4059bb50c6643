import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Store } from '../store/store.ts';

/**
 * The audit log: every change, approval and manual run that the API accepted or refused after
 * authentication, with who, what, which and the answer. Bodies are never recorded: they may hold
 * secrets. Not encapsulated (fastify-plugin), so that its hook sees every route of the app.
 */
const audit: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || !request.principal) return;
    const params = (request.params ?? {}) as Record<string, string>;
    await store.addAudit({
      at: new Date().toISOString(),
      actor: request.principal.name,
      action: `${request.method} ${request.routeOptions.url ?? request.url}`,
      target: Object.values(params).join('/'),
      outcome: reply.statusCode,
    });
  });
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/audit',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      },
    },
    async (req) => store.listAudit(req.query.limit),
  );
};

export const auditLog = fp(audit, { name: 'hoist-audit' });
