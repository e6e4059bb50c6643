import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Name } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import { AuditEntry, errorsOf } from './schemas/index.ts';

/**
 * What a request acted on: its path's parameters, or for a creation the names in its body
 * (`repository/name`, `name`) or a URL without its credentials. Nothing else of a body.
 */
export function auditTarget(params: unknown, body: unknown): string {
  const fromPath = Object.values((params ?? {}) as Record<string, unknown>).map(String);
  if (fromPath.length > 0) return fromPath.join('/');
  if (!body || typeof body !== 'object') return '';
  const fields = body as Record<string, unknown>;
  const names = [fields.repository, fields.name].filter((v) => Name.safeParse(v).success);
  if (names.length > 0) return names.join('/');
  return typeof fields.url === 'string' ? withoutCredentials(fields.url) : '';
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '';
  }
}

/**
 * The audit log: every change, approval and manual run that the API accepted or refused after
 * authentication, with who, what, which and the answer. Bodies are never recorded: they may hold
 * secrets. Not encapsulated (fastify-plugin), so that its hook sees every route of the app.
 */
const audit: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || !request.principal) return;
    await store.addAudit({
      at: new Date().toISOString(),
      actor: request.principal.name,
      action: `${request.method} ${request.routeOptions.url ?? request.url}`,
      target: auditTarget(request.params, request.body),
      outcome: reply.statusCode,
    });
  });
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/audit',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        operationId: 'listAudit',
        summary: 'The audit log, newest first',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.array(AuditEntry), ...errorsOf(400, 401) },
      },
    },
    async (req) => store.listAudit(req.query.limit),
  );
};

export const auditLog = fp(audit, { name: 'hoist-audit' });
