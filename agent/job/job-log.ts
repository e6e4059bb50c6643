import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { type StreamMasker, streamMasker } from './masking.ts';

/** `no space left on device` from `ENOSPC: no space left on device, write`. */
export function ioReason(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return message.replace(/^E[A-Z]+: /, '').replace(/, [a-z_]+( '.*')?$/, '');
}

/**
 * A job's log: the output of its tasks, masked as one stream in arrival order, written to a file
 * only its owner may read. A write error (a full disk) never throws: it is kept as `failure`,
 * handed to `onFailure` once, and every later write is dropped.
 */
export class JobLog {
  failure: string | null = null;
  private readonly mask: StreamMasker;
  private readonly stream: WriteStream | null = null;
  private listener: ((reason: string) => void) | null = null;

  constructor(
    readonly path: string,
    secrets: readonly string[],
  ) {
    this.mask = streamMasker(secrets);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
      this.stream.on('error', (error) => this.fail(error));
    } catch (error) {
      this.fail(error);
    }
  }

  /** Called once when the log cannot be written (at once when it already failed). */
  onFailure(listener: (reason: string) => void): void {
    if (this.failure) listener(this.failure);
    else this.listener = listener;
  }

  /** Writes masked text; false when the writer should wait for `drained` before more. */
  write(text: string): boolean {
    if (this.failure || !this.stream) return true;
    const masked = this.mask.push(text);
    return masked === '' || this.stream.write(masked);
  }

  /** Resolves when what was written has gone to the file (or the log failed). */
  drained(): Promise<void> {
    const stream = this.stream;
    if (this.failure || !stream || !stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
  }

  /** Writes what the masker held back and closes the file. */
  close(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.destroyed) return Promise.resolve();
    if (!this.failure) stream.write(this.mask.flush());
    return new Promise((resolve) => {
      stream.once('close', () => resolve());
      stream.end();
    });
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = `cannot write the job's log: ${ioReason(error)} (${this.path})`;
    this.listener?.(this.failure);
    this.listener = null;
  }
}
