import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../../test/helpers/tools.ts';
import { zstdOnThread } from './zstd-thread.ts';

async function* pieces(bytes: Buffer, size = 64 << 10): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function zstd(data: Buffer): Buffer {
  requireTool('zstd', 'zstd');
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
}

async function decode(
  bytes: Buffer,
  borrowed = false,
): Promise<{ out: Buffer; largest: number; memory: number }> {
  const out: Uint8Array[] = [];
  let largest = 0;
  const memory = new Set<ArrayBufferLike>();
  for await (const chunk of zstdOnThread(pieces(bytes), borrowed)) {
    largest = Math.max(largest, chunk.length);
    memory.add(chunk.buffer);
    out.push(Buffer.from(chunk));
  }
  return { out: Buffer.concat(out), largest, memory: memory.size };
}

describe('plugins/yum/zstd-thread', () => {
  it('decodes what zstd wrote, several frames one after another, in pieces of at most 1 MiB', async () => {
    // Text that compresses well (many pieces per input chunk) and noise that does not.
    const text = Buffer.from('<package type="rpm"><name>a</name></package>\n'.repeat(200_000));
    const noise = randomBytes(3 << 20);
    const data = Buffer.concat([text, noise]);
    const { out, largest } = await decode(Buffer.concat([zstd(text), zstd(noise)]));
    expect(out.equals(data)).toBe(true);
    expect(largest).toBeLessThanOrEqual(1 << 20);
    // A borrowing reader gets every piece in the same memory, and the same bytes.
    const borrowed = await decode(Buffer.concat([zstd(text), zstd(noise)]), true);
    expect(borrowed.out.equals(data)).toBe(true);
    expect(borrowed.memory).toBe(1);
  });

  it('refuses data that ends in the middle of a frame, and data that is not zstd', async () => {
    const whole = zstd(Buffer.from('x'.repeat(5 << 20)));
    await expect(decode(whole.subarray(0, whole.length - 3))).rejects.toThrow(
      /ends in the middle of a frame/,
    );
    await expect(
      decode(Buffer.concat([whole.subarray(0, 4), randomBytes(4096)])),
    ).rejects.toThrow();
  });

  it('stops its thread when the reader stops early', async () => {
    const bytes = zstd(Buffer.from('y'.repeat(20 << 20)));
    for await (const chunk of zstdOnThread(pieces(bytes))) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
  });
});
