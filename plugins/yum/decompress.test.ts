import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../../test/helpers/tools.ts';
import { decompress } from './decompress.ts';

async function* pieces(bytes: Buffer, size = 64 << 10): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function inflate(
  bytes: Buffer,
  compression: Parameters<typeof decompress>[1],
  limits?: Parameters<typeof decompress>[2],
) {
  const out: Uint8Array[] = [];
  let largest = 0;
  for await (const chunk of await decompress(pieces(bytes), compression, limits)) {
    largest = Math.max(largest, chunk.length);
    out.push(chunk);
  }
  return { bytes: Buffer.concat(out), largest };
}

describe('plugins/yum/decompress', () => {
  it('decodes bzip2, several streams one after another, in pieces of at most 1 MiB', async () => {
    requireTool('bzip2', 'Debian package bzip2');
    const text = Buffer.concat([randomBytes(300_000), Buffer.alloc(3 << 20, 0x61)]);
    const bz2 = (input: Buffer) => execFileSync('bzip2', ['-c', '-9'], { input });
    const { bytes, largest } = await inflate(Buffer.concat([bz2(text), bz2(text)]), 'bzip2');
    expect(bytes.equals(Buffer.concat([text, text]))).toBe(true);
    expect(largest).toBeLessThanOrEqual(1 << 20);
    await expect(inflate(bz2(text).subarray(0, 5000), 'bzip2')).rejects.toThrow(
      /bzip2 data ends in the middle of a block/,
    );
  });

  it('decodes zstd into the same memory for a borrowing reader, and into fresh memory otherwise', async () => {
    requireTool('zstd', 'Debian package zstd');
    const text = Buffer.concat([randomBytes(300_000), Buffer.alloc(5 << 20, 0x61)]);
    const zst = execFileSync('zstd', ['-c', '-3'], { input: text });
    for (const borrowed of [true, false]) {
      const copies: Buffer[] = [];
      const memory = new Set<ArrayBufferLike>();
      for await (const chunk of await decompress(pieces(zst), 'zstd', {}, { borrowed })) {
        copies.push(Buffer.from(chunk));
        memory.add(chunk.buffer);
      }
      expect(Buffer.concat(copies).equals(text)).toBe(true);
      expect(copies.length).toBeGreaterThan(5);
      expect(memory.size === 1).toBe(borrowed);
    }
  });

  it('stops at the most a file may inflate to', async () => {
    const gz = gzipSync(Buffer.alloc(8 << 20, 0x20));
    await expect(inflate(gz, 'gzip', { maxBytes: 4 << 20, maxRatio: Infinity })).rejects.toThrow(
      'inflates past 4194304 bytes, the limit; refused as a decompression bomb',
    );
    expect((await inflate(gz, 'gzip', { maxBytes: 8 << 20 })).bytes.length).toBe(8 << 20);
  });

  it('takes turns with the event loop however fast output comes', async () => {
    // A source that never waits for anything: without turns, no timer would run until the end.
    async function* instant(): AsyncIterable<Uint8Array> {
      const piece = Buffer.alloc(1 << 20, 0x20);
      for (let i = 0; i < 400; i++) yield piece;
    }
    let turns = 0;
    const ticking = setInterval(() => turns++, 1);
    let total = 0;
    const started = performance.now();
    for await (const chunk of await decompress(instant(), 'none')) {
      total += chunk.length;
      // The reader's own work on each piece.
      const until = performance.now() + 0.5;
      while (performance.now() < until) {}
    }
    const ms = performance.now() - started;
    clearInterval(ticking);
    expect(total).toBe(400 << 20);
    // A turn every 10 ms of work (200 ms here), give or take a loaded machine.
    expect(ms).toBeGreaterThan(200);
    expect(turns).toBeGreaterThanOrEqual(5);
  });
});
