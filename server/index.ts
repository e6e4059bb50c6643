import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { toGoCdProperties } from 'hoist';
import { loadAdminToken } from './admin-token.ts';
import { createPluginRuntime, type PluginRuntime } from './plugin-runtime.ts';

/** Options of `createServer`. */
export interface ServerOptions {
  /** Data folder (admin token, later the store); default `./hoist-data`. */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Log requests with pino; default false. */
  logger?: boolean;
}

/** A running Hoist server. */
export interface HoistServer {
  /** Base URL, e.g. `http://127.0.0.1:8153`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly runtime: PluginRuntime;
  /** Stops accepting requests and releases resources. */
  close(): Promise<void>;
}

/**
 * Creates and starts a Hoist server: `GET /api/health` (open) and `GET /api/plugins` (bearer
 * token). The store, poller, scheduler and the rest of the API build on this.
 */
export async function createServer(options: ServerOptions = {}): Promise<HoistServer> {
  const dataDir = options.dataDir ?? process.env.HOIST_DATA ?? './hoist-data';
  const { token } = await loadAdminToken(dataDir);
  const runtime = createPluginRuntime();
  const app = Fastify({ logger: options.logger ?? false });
  const expected = Buffer.from(token);

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/') || request.url === '/api/health') return;
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    // Constant time: compare equal-length buffers only, and always compare.
    const same = given.length === expected.length && timingSafeEqual(given, expected);
    if (!same) {
      return reply.code(401).send({
        error: { code: 'ERR_UNAUTHENTICATED', message: 'A valid bearer token is required' },
      });
    }
  });
  app.get('/api/health', async () => ({ status: 'ok' }));
  app.get('/api/plugins', async () =>
    runtime.host.registry.list().map((p) => ({
      id: p.id,
      version: p.version,
      displayName: p.displayName,
      description: p.description,
      repositoryProperties: p.repositoryProperties,
      packageProperties: p.packageProperties,
      gocd: {
        'repository-configuration': toGoCdProperties(p.repositoryProperties),
        'package-configuration': toGoCdProperties(p.packageProperties),
      },
    })),
  );
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8153 });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    app,
    runtime,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}
