import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpClient } from './http-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'hoist-http-'));
const client = createHttpClient();
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function text(body: AsyncIterable<Uint8Array>) {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

describe('server/http/http-client', () => {
  it('serves file: URLs with a precise ETag, so a change within the same second is seen', async () => {
    const file = join(dir, 'repomd.xml');
    const url = pathToFileURL(file).href;
    writeFileSync(file, 'one');
    const first = await client.request({ url });
    expect(first.status).toBe(200);
    expect(await text(first.body)).toBe('one');
    const etag = first.headers.etag as string;
    const same = await client.request({
      url,
      headers: {
        'if-none-match': etag,
        'if-modified-since': first.headers['last-modified'] as string,
      },
    });
    expect(same.status).toBe(304);
    writeFileSync(file, 'two!');
    const changed = await client.request({
      url,
      headers: {
        'if-none-match': etag,
        'if-modified-since': first.headers['last-modified'] as string,
      },
    });
    expect(changed.status).toBe(200);
    expect(await text(changed.body)).toBe('two!');
  });

  it('answers 404 for a missing file and refuses other schemes', async () => {
    expect((await client.request({ url: pathToFileURL(join(dir, 'nope')).href })).status).toBe(404);
    await expect(client.request({ url: 'ftp://example.com/x' })).rejects.toThrow(
      'Unsupported URL scheme ftp:',
    );
  });

  it('keeps the connection when a response without content is cancelled, and closes it after a body', async () => {
    const sockets = new Set<unknown>();
    const server = createServer((req, res) => {
      sockets.add(req.socket);
      if (req.url === '/same') res.writeHead(304, { etag: '"1"' }).end();
      else res.writeHead(200, { 'content-length': '100000' }).end(Buffer.alloc(100_000));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const own = createHttpClient();
    try {
      for (let i = 0; i < 3; i++) {
        await (await own.request({ url: `${url}/same` })).cancel();
        // The pool takes the connection back on its next turn.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(sockets.size).toBe(1);
      await (await own.request({ url: `${url}/big` })).cancel();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await (await own.request({ url: `${url}/same` })).cancel();
      expect(sockets.size).toBe(2);
    } finally {
      await own.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
