import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** The dashboard's files, next to this module's sources in the package. */
function assetsDir(): string {
  for (
    let dir = fileURLToPath(new URL('.', import.meta.url));
    dir !== dirname(dir);
    dir = dirname(dir)
  ) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'hoist') return join(dir, 'server', 'web', 'assets');
    } catch {
      // Keep looking upwards.
    }
  }
  throw new Error('cannot find the dashboard assets');
}

/** Serves the dashboard at `/` (its files under `/ui/`); everything it shows comes from the API. */
export const webRoutes: FastifyPluginAsync = async (app) => {
  const root = assetsDir();
  await app.register(fastifyStatic, { root, prefix: '/ui/', index: false });
  const page = readFileSync(join(root, 'index.html'), 'utf8');
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:",
      )
      .send(page),
  );
};
