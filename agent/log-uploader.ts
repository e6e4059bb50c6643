import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ServerClient } from './client.ts';
import type { LogAnswer, LogChunk } from './protocol.ts';

/** At most this much of the log per request. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Sends a job's (already masked) log file to the server in chunks, each at its byte offset: a
 * chunk sent again after a lost answer changes nothing there, and the server's answer says
 * where to go on from. Chunks end on whole UTF-8 characters.
 */
export class LogUploader {
  private sent = 0;

  constructor(
    private readonly client: ServerClient,
    private readonly id: number,
    private readonly file: string,
  ) {}

  /** Sends what the file holds beyond what the server has (`final`: the whole rest). */
  async push(final = false): Promise<void> {
    for (;;) {
      const chunk = this.read(final);
      if (!chunk) return;
      const answer = await this.client.post<LogAnswer>(`/api/agent/jobs/${this.id}/log`, {
        offset: this.sent,
        text: chunk.toString('utf8'),
        bytes: chunk.length,
      } satisfies LogChunk);
      const bytes = answer?.bytes ?? this.sent + chunk.length;
      // The server is the truth: behind (it lost nothing yet) or ahead (a retry was stored).
      if (bytes === this.sent) return;
      this.sent = bytes;
    }
  }

  private read(final: boolean): Buffer | undefined {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return undefined;
    }
    if (size <= this.sent) return undefined;
    const length = Math.min(CHUNK_BYTES, size - this.sent);
    const buffer = Buffer.alloc(length);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buffer, 0, length, this.sent);
    } finally {
      closeSync(fd);
    }
    const whole = final && this.sent + length === size ? length : utf8Boundary(buffer);
    return whole > 0 ? buffer.subarray(0, whole) : undefined;
  }
}

/** The length of the longest prefix of `buffer` that ends on a whole UTF-8 character. */
export function utf8Boundary(buffer: Buffer): number {
  let end = buffer.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character.
  let back = 0;
  while (back < 4 && end - back - 1 >= 0 && ((buffer[end - back - 1] as number) & 0xc0) === 0x80)
    back++;
  const leadAt = end - back - 1;
  if (leadAt < 0) return 0;
  const lead = buffer[leadAt] as number;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (back + 1 < needed) end = leadAt;
  return end;
}
