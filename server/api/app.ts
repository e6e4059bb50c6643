import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { ForbiddenError, UnauthenticatedError } from 'hoist';
import type { Role } from '../config/schema.ts';
import { allows, type Principal, type TokenTable } from './auth.ts';
import { errorResponse } from './errors.ts';
import { acceptEmptyJson, openapiInfo, serializerCompiler, transformObject } from './openapi.ts';
import { RequestLog, routeOf } from './request-log.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Lowest role allowed; routes without one are open (health only). */
    role?: Role;
  }
}

/** One HTTP request as it was answered. */
export interface AnsweredRequest {
  method: string;
  /** The route's pattern (`/api/pipelines/:name`), or `unmatched`. */
  route: string;
  status: number;
  seconds: number;
}

/** What the app reports of requests. */
export interface HttpMetrics {
  requestFinished(request: AnsweredRequest): void;
}

/** Options of the HTTP app. */
export interface AppOptions {
  tokens: TokenTable;
  logger: FastifyServerOptions['logger'];
  version: string;
  metrics?: HttpMetrics;
}

/**
 * The fastify app with what every route shares: zod validation, OpenAPI at /docs (for a viewer
 * token and above), bearer tokens with roles (401 without a valid token, 403 when the role is too low), and errors as
 * `{"error": {code, message, issues?}}` with the status of `errors.ts`.
 */
export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger,
    logController: new RequestLog(),
    bodyLimit: 4 << 20,
  });
  if (options.metrics) {
    const metrics = options.metrics;
    app.addHook('onResponse', async (request, reply) => {
      metrics.requestFinished({
        method: request.method,
        route: routeOf(request),
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
      });
    });
  }
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptEmptyJson(app);
  await app.register(fastifySwagger, {
    openapi: openapiInfo(options.version),
    transform: jsonSchemaTransform,
    transformObject,
  });

  /** 401 without a valid token, 403 when its role is below `needed`. */
  const authorize = async (request: FastifyRequest, needed: Role) => {
    const principal = options.tokens.authenticate(request.headers.authorization);
    if (!principal) throw new UnauthenticatedError();
    // Known before the role check, so that refused attempts reach the audit log too.
    request.principal = principal;
    if (!allows(principal.role, needed)) {
      throw new ForbiddenError(
        `This needs the ${needed} role; the token '${principal.name}' is ${principal.role}`,
      );
    }
  };
  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config?.role;
    if (needed) await authorize(request, needed);
  });

  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        key: v.instancePath.replace(/^\//, '').replace(/\//g, '.'),
        message: innerMessage(v.params) ?? v.message ?? 'invalid',
      }));
      return reply.code(400).send({
        error: {
          code: 'ERR_BAD_REQUEST',
          message: `The request does not match the API: ${issues
            .map((i) => (i.key ? `${i.key}: ${i.message}` : i.message))
            .join('; ')}`,
          issues,
        },
      });
    }
    // fastify's own client errors (bad JSON, body too large, wrong content type).
    const status = (error as { statusCode?: number }).statusCode;
    const ownCode = String((error as { code?: unknown }).code ?? '');
    if (status && status >= 400 && status < 500 && !ownCode.startsWith('ERR_')) {
      return reply
        .code(status)
        .send({ error: { code: 'ERR_BAD_REQUEST', message: (error as Error).message } });
    }
    const { status: code, body } = errorResponse(error);
    if (code >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(code).send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'ERR_NOT_FOUND',
        message: `No route ${request.method} ${request.url.split('?')[0]}`,
      },
    }),
  );
  // The API's description, like the API, is for holders of a token. Registered after the error
  // handler, so that its routes answer 401 and 403 as the API does.
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiHooks: { onRequest: async (request) => authorize(request, 'viewer') },
  });
  return app;
}

/** The message of a nested issue (an invalid record key says why only inside). */
function innerMessage(params: unknown): string | undefined {
  const inner = (params as { issues?: { message?: string }[] } | undefined)?.issues;
  return Array.isArray(inner) ? inner[0]?.message : undefined;
}
