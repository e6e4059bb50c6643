import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/** The level of a request's line. */
export type RequestLevel = 'debug' | 'info' | 'warn';

/** Routes polled or fetched by machines and browsers all day (health, scrapes, static files): debug. */
const QUIET = [
  /^\/api\/health$/,
  /^\/metrics$/,
  /^\/$/,
  /^\/ui\//,
  /^\/vendor\//,
  /^\/docs\/static\//,
  /^\/favicon/,
];

/** The route a request matched (its pattern), or `unmatched` when none did. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Health and static files at debug, failures of the server at warn, the rest at info (pure). */
export function requestLevel(route: string, status: number): RequestLevel {
  if (status >= 500) return 'warn';
  return QUIET.some((pattern) => pattern.test(route)) ? 'debug' : 'info';
}

/**
 * One line per request, as it is answered: method, route, URL path, status and milliseconds
 * (fastify's own two lines, incoming and completed, are not written). A request that failed
 * on the server also has the error handler's line with the error.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override routeNotFound(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const route = routeOf(request);
    const status = reply.statusCode;
    const line = {
      method: request.method,
      route,
      path: request.url.split('?')[0],
      status,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(error ? { error: error.message } : {}),
    };
    reply.log[requestLevel(route, status)](line, `${request.method} ${route} ${status}`);
  }
}
