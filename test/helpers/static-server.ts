import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** A request as the server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

/** Options of the test server. */
export interface StaticServerOptions {
  /** Demand HTTP basic auth with these credentials. */
  auth?: { username: string; password: string };
  /** Answer every request after this long (a slow repository). */
  delayMs?: number;
  /** Answer some requests differently: return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | undefined;
}

/** A loopback HTTP server over a folder, with ETag/If-Modified-Since support and a request log. */
export interface StaticServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 at a free port. */
export async function serveDirectory(
  root: string,
  options: StaticServerOptions = {},
): Promise<StaticServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    if (options.delayMs) setTimeout(() => handle(req, res), options.delayMs);
    else handle(req, res);
  });
  function handle(req: IncomingMessage, res: ServerResponse) {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers });
    if (options.auth) {
      const expected = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="repo"' }).end('unauthorized');
        return;
      }
    }
    if (options.intercept?.(req, res)) return;
    const file = join(root, normalize(path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    let info: ReturnType<typeof statSync>;
    try {
      info = statSync(file);
      if (!info.isFile()) throw new Error('not a file');
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const etag = `"${info.size}-${info.mtimeMs}"`;
    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, 'last-modified': lastModified, 'content-length': info.size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  }
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
