import { fork } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/**
 * A loopback file server with ETag/304, as a repository web server answers. Under
 * `/delay-<ms>/…` it answers the same files after `ms` milliseconds, as a distant mirror would.
 */
export async function serveRoot(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const delay = /^\/delay-(\d+)(\/.*)$/.exec(req.url ?? '');
    if (delay) {
      req.url = delay[2];
      setTimeout(() => server.emit('request', req, res), Number(delay[1]));
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(root, path);
    let size: number;
    let mtime: number;
    try {
      const info = statSync(file);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
      mtime = info.mtimeMs;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${size}-${Math.floor(mtime)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, 'content-length': size });
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `serveRoot` in a child process; resolves with its URL and a way to stop it. */
export function startServerProcess(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = fork(new URL(import.meta.url), [root], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (url) =>
      resolve({
        url: String(url),
        close: () =>
          new Promise<void>((done) => {
            child.once('exit', () => done());
            child.kill();
          }),
      }),
    );
  });
}

// As a child process: serve the folder given as argument and report the URL to the parent.
if (
  process.argv[1] &&
  import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '') &&
  process.send
) {
  const server = await serveRoot(process.argv[2] ?? '.');
  process.send(server.url);
}
