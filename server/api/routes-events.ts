import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { EventBus } from '../events/bus.ts';
import { type EventFilter, matches, parsePatterns, unknownPatterns } from '../events/filter.ts';
import { parseEventId, SSE_KEEP_ALIVE, sseMessage } from '../events/sse.ts';
import type { Principal, TokenTable } from './auth.ts';
import { EVENT_STREAM, EventsQuery, errorsOf } from './schemas/index.ts';

/** Options of the event routes. */
export interface EventRouteOptions {
  bus: EventBus;
  /**
   * The tokens, read again at each keep-alive: a stream whose token was removed (the
   * configuration applied again) ends, and one whose role changed is filtered by the new one.
   */
  tokens?: Pick<TokenTable, 'authenticate'>;
  /** Milliseconds between keep-alive comments; default 15 s. */
  keepAliveMs?: number;
  /** Milliseconds a client may leave what it was sent unread before it is disconnected; default 30 s. */
  stallMs?: number;
}

const badRequest = (message: string) => ({ error: { code: 'ERR_BAD_REQUEST', message } });

/** Where a client resumes and what it filters, or why the request is refused. */
function readRequest(
  header: string | string[] | undefined,
  query: { since?: string; types?: string; pipeline?: string },
): { after: number | undefined; filter: Omit<EventFilter, 'role'> } | { error: string } {
  const resumeText = (Array.isArray(header) ? header[0] : header) ?? query.since;
  const after = parseEventId(resumeText);
  if (resumeText !== undefined && after === undefined)
    return { error: `Last-Event-ID '${resumeText}' is not an event id` };
  const types = parsePatterns(query.types);
  const unknown = unknownPatterns(types ?? []);
  if (unknown.length > 0) return { error: `types: no event type matches ${unknown.join(', ')}` };
  return {
    after,
    filter: {
      ...(types ? { types } : {}),
      ...(query.pipeline ? { pipeline: query.pipeline } : {}),
    },
  };
}

/** Waits until `res` has written its buffer out (true), or `ms` passed or it closed (false). */
function drained(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(value);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * `GET /api/events`: the event stream as server-sent events, filtered by the token's role and
 * the query, resumable with `Last-Event-ID`. Each client is sent one batch at a time, the next once the
 * last one left the server's buffers (so a slow reader costs no memory: what it has not read
 * waits in the store); one that reads nothing for `stallMs` is disconnected, and resumes with
 * its last id.
 */
export const eventRoutes: FastifyPluginAsync<EventRouteOptions> = async (app, options) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const stallMs = options.stallMs ?? 30_000;
  // Open streams end when the server stops, so that closing it does not wait for their clients.
  const open = new Set<{ end(): void }>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  api.get(
    '/api/events',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['system'],
        operationId: 'events',
        summary: 'The event stream (server-sent events)',
        querystring: EventsQuery,
        response: { 200: EVENT_STREAM, ...errorsOf(400, 401) },
      },
    },
    async (request, reply) => {
      const asked = readRequest(request.headers['last-event-id'], request.query);
      if ('error' in asked) return reply.code(400).send(badRequest(asked.error));
      const filter: EventFilter = { role: (request.principal as Principal).role, ...asked.filter };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n${SSE_KEEP_ALIVE}`);
      const keepAlive = setInterval(() => {
        const now = options.tokens?.authenticate(request.headers.authorization);
        if (options.tokens && !now) {
          res.end();
          return;
        }
        if (now) filter.role = now.role;
        res.write(SSE_KEEP_ALIVE);
      }, keepAliveMs);
      const subscription = options.bus.subscribe(asked.after, async (events) => {
        const text = events
          .filter((e) => matches(filter, e))
          .map(sseMessage)
          .join('');
        if (!text || res.write(text)) return;
        // Buffers are full: the next events wait in the store until this client has read these.
        if (!(await drained(res, stallMs))) {
          request.log.warn(
            { backlog: res.writableLength },
            `an event stream client read nothing for ${stallMs} ms; disconnected`,
          );
          res.destroy();
        }
      });
      open.add(res);
      const end = () => {
        open.delete(res);
        clearInterval(keepAlive);
        subscription.close();
      };
      res.on('close', end);
      res.on('error', end);
    },
  );
};
