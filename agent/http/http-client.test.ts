import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
