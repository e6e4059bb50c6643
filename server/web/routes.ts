import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** The folder above `from` that holds the package.json named `name`. */
function packageDir(from: string, name: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === name) return dir;
    } catch {
      // Keep looking upwards.
    }
  }
  throw new Error(`cannot find the package '${name}' for the dashboard`);
}

/** The dashboard's files, next to this module's sources in the package. */
function assetsDir(): string {
  const root = packageDir(fileURLToPath(new URL('.', import.meta.url)), 'hoist');
  return join(root, 'server', 'web', 'assets');
}

/** lit-html's own folder, wherever npm installed it. */
function litHtmlDir(): string {
  return packageDir(dirname(fileURLToPath(import.meta.resolve('lit-html'))), 'lit-html');
}

/**
 * Which of lit-html's files the browser may load: its production ES modules only (not the
 * Node.js or development builds), and none of the directives that insert markup unescaped.
 */
export function servedVendorFile(path: string): boolean {
  const file = path.replace(/^\/+/, '');
  return (
    /^[a-z0-9-]+(\/[a-z0-9-]+)*\.js$/.test(file) &&
    !/^(node|development)\//.test(file) &&
    !/(^|\/)unsafe-/.test(file)
  );
}

/** The Content-Security-Policy of the page: its own files only, and its one inline import map. */
export function contentSecurityPolicy(page: string): string {
  const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page)?.[1];
  const hash = map ? ` 'sha256-${createHash('sha256').update(map).digest('base64')}'` : '';
  return `default-src 'self'; style-src 'self'; script-src 'self'${hash}; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'`;
}

/**
 * Serves the dashboard at `/` (its files under `/ui/`, lit-html's ES modules under
 * `/vendor/lit-html/`); everything it shows comes from the API.
 */
export const webRoutes: FastifyPluginAsync = async (app) => {
  const root = assetsDir();
  await app.register(fastifyStatic, { root, prefix: '/ui/', index: false });
  await app.register(fastifyStatic, {
    root: litHtmlDir(),
    prefix: '/vendor/lit-html/',
    index: false,
    decorateReply: false,
    maxAge: '1d',
    allowedPath: (path) => servedVendorFile(path),
  });
  const page = readFileSync(join(root, 'index.html'), 'utf8');
  const policy = contentSecurityPolicy(page);
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', policy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page),
  );
};
