import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Output piece size of the zstd decoder (as the inline one). */
const PIECE = 1 << 20;

/** Pieces the decoding thread may be ahead of the reader: bounds memory (4 MiB). */
const CREDITS = 4;

/**
 * The decoding thread, as a script (`eval`): it runs the same from the TypeScript sources and
 * from `dist/`. It decodes each input as it arrives into 1 MiB pieces, posted (transferred, not
 * copied) while it has credit; the reader gives one credit back per piece it takes, with the
 * piece's memory to decode into again.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.binding);
const dctx = new binding.DCtx();
const inputs = [];
const free = [];
let src = null, pending = 0, credits = workerData.credits, ended = false;
function pump() {
  try {
    while (credits > 0) {
      if (src === null) {
        if (inputs.length === 0) {
          if (ended) {
            parentPort.postMessage(pending === 0 ? { done: true }
              : { error: 'zstd data ends in the middle of a frame' });
            ended = false;
          }
          return;
        }
        src = inputs.shift();
      }
      const out = free.pop() || new Uint8Array(workerData.piece);
      const [left, produced, consumed] = dctx.decompressStream(out, src);
      pending = left;
      src = src.subarray(consumed);
      // Done with this input once it is consumed and the decoder has nothing left to flush
      // (compared before the transfer, which empties out).
      if (src.length === 0 && produced < workerData.piece) src = null;
      if (produced > 0) {
        credits--;
        parentPort.postMessage({ piece: out.buffer, length: produced }, [out.buffer]);
      }
    }
  } catch (error) {
    inputs.length = 0;
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
}
parentPort.on('message', (m) => {
  if (m.input) inputs.push(new Uint8Array(m.input));
  else if (m.credit) {
    credits += m.credit;
    if (m.recycle) free.push(new Uint8Array(m.recycle));
  }
  else if (m.end) ended = true;
  pump();
});
`;

type FromThread = { piece: ArrayBuffer; length: number } | { done: true } | { error: string };

/**
 * Decodes zstd on a thread of its own while the reader parses the previous piece: the decoder
 * (zstd-napi) is synchronous, and on the event loop its time adds to the parse's. Pieces of at
 * most 1 MiB, at most four ahead of the reader. The thread is ended when the reader stops.
 */
export async function* zstdOnThread(
  source: AsyncIterable<Uint8Array>,
  borrowed = false,
): AsyncIterable<Uint8Array> {
  const binding = createRequire(import.meta.url).resolve('zstd-napi/binding.js');
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: { binding, credits: CREDITS, piece: PIECE },
    // Decoding needs little heap: the pieces live outside it.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 2 },
  });
  const queue: FromThread[] = [];
  const shared = borrowed ? Buffer.allocUnsafeSlow(PIECE) : undefined;
  let wake: (() => void) | undefined;
  let failure: unknown;
  const arrived = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: FromThread) => {
    queue.push(m);
    arrived();
  });
  worker.on('error', (error) => {
    failure = error;
    arrived();
  });
  worker.on('exit', () => {
    failure ??= new Error('the zstd decoding thread stopped');
    arrived();
  });
  // Compressed input goes to the thread as it arrives (copied: network buffers are shared).
  const feeding = (async () => {
    for await (const chunk of source) {
      const copy = Uint8Array.prototype.slice.call(chunk);
      worker.postMessage({ input: copy.buffer }, [copy.buffer]);
    }
    worker.postMessage({ end: true });
  })().catch((error) => {
    failure = error;
    arrived();
  });
  try {
    for (;;) {
      const m = queue.shift();
      if (!m) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      if ('error' in m) throw new Error(m.error);
      if ('done' in m) break;
      // The reader gets a copy in memory of this thread, and the piece goes back to be decoded
      // into again: buffers that came over from the thread are not counted by this thread's
      // garbage collector, and piled up (peak RSS 168 MiB at 100k packages against 102 inline).
      // A borrowing reader gets every copy in the same memory (see DecodeOptions).
      const piece = shared ? shared.subarray(0, m.length) : Buffer.allocUnsafe(m.length);
      piece.set(new Uint8Array(m.piece, 0, m.length));
      worker.postMessage({ credit: 1, recycle: m.piece }, [m.piece]);
      yield piece;
    }
    await feeding;
  } finally {
    worker.removeAllListeners('exit');
    void worker.terminate();
  }
}
