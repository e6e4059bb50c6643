import { Worker } from 'node:worker_threads';
import { type JsonValue, type Logger, PluginError } from 'hoist';
import {
  type CallMessage,
  fromWire,
  type WorkerMessage,
  type WorkerSetup,
} from './worker-protocol.ts';

/** Options of a pool of plugin workers. */
export interface WorkerPoolOptions {
  /** The compiled worker module (`plugin-worker.js`). */
  workerUrl: URL;
  setup: WorkerSetup;
  /** Workers at once; further calls wait for one. */
  maxWorkers: number;
  /** Heap limit of each worker (one call at a time), in MiB. */
  memoryMb: number;
  /** An idle worker is stopped after this long; default 30 s. */
  idleMs?: number;
}

/** How the calls of one plugin call reach the caller. */
export interface PoolCallOptions {
  signal: AbortSignal;
  logger: Logger;
  pluginId: string;
}

/** Workers now: for metrics and tests. */
export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  /** Workers started since the pool was made. */
  started: number;
  /** Calls sent to a worker since the pool was made. */
  calls: number;
}

/** Runs plugin calls in worker threads, reusing idle workers; a call that is aborted ends its worker. */
export interface WorkerPool {
  run(
    message: CallMessage,
    options: PoolCallOptions,
  ): Promise<{ result: unknown; state: Record<string, JsonValue> }>;
  stats(): PoolStats;
  /** Stops every worker (calls in flight fail). */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  idleTimer?: NodeJS.Timeout | undefined;
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const idle: Slot[] = [];
  const all = new Set<Slot>();
  const waiting: Array<() => void> = [];
  let started = 0;
  let calls = 0;
  let closed = false;

  function spawnSlot(): Slot {
    const worker = new Worker(options.workerUrl, {
      workerData: options.setup,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
    });
    started++;
    const slot: Slot = { worker };
    all.add(slot);
    worker.once('exit', () => {
      all.delete(slot);
      const at = idle.indexOf(slot);
      if (at >= 0) idle.splice(at, 1);
      clearTimeout(slot.idleTimer);
      waiting.shift()?.();
    });
    // Errors are reported to the call in flight; an idle worker's error only ends it.
    worker.on('error', () => {});
    return slot;
  }

  async function acquire(signal: AbortSignal): Promise<Slot> {
    for (;;) {
      if (closed) throw new PluginError('The server is stopping: no plugin call starts now');
      signal.throwIfAborted();
      const slot = idle.pop();
      if (slot) {
        clearTimeout(slot.idleTimer);
        return slot;
      }
      if (all.size < options.maxWorkers) return spawnSlot();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          const at = waiting.indexOf(wake);
          if (at >= 0) waiting.splice(at, 1);
          resolve();
        };
        waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  function release(slot: Slot): void {
    if (closed || !all.has(slot)) return;
    slot.worker.unref();
    idle.push(slot);
    slot.idleTimer = setTimeout(() => void slot.worker.terminate(), options.idleMs ?? 30_000);
    slot.idleTimer.unref();
    waiting.shift()?.();
  }

  async function run(message: CallMessage, call: PoolCallOptions) {
    const slot = await acquire(call.signal);
    calls++;
    slot.worker.ref();
    const { worker } = slot;
    return new Promise<{ result: unknown; state: Record<string, JsonValue> }>((resolve, reject) => {
      const finish = (settle: () => void, keep: boolean) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        call.signal.removeEventListener('abort', onAbort);
        if (keep) release(slot);
        else void worker.terminate();
        settle();
      };
      const onMessage = (m: WorkerMessage) => {
        if (m.type === 'log') return void call.logger[m.level](m.message, meta(m.meta));
        if (m.type === 'done') finish(() => resolve({ result: m.result, state: m.state }), true);
        else finish(() => reject(fromWire(m.error)), true);
      };
      const onError = (error: Error & { code?: string }) => {
        const what =
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `exceeded ${options.memoryMb} MiB of memory in ${message.call} and was stopped`
            : `failed in ${message.call}: ${error.message.split('\n')[0]}`;
        finish(
          () =>
            reject(
              new PluginError(`Plugin '${call.pluginId}' ${what}`, { pluginId: call.pluginId }),
            ),
          false,
        );
      };
      const onExit = (code: number) =>
        finish(
          () =>
            reject(
              new PluginError(
                `Plugin '${call.pluginId}' stopped in ${message.call} (worker exit code ${code})`,
                { pluginId: call.pluginId },
              ),
            ),
          false,
        );
      // The host aborts on its deadline or at shutdown: the worker is terminated, so the work stops.
      const onAbort = () => finish(() => reject(call.signal.reason), false);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      call.signal.addEventListener('abort', onAbort, { once: true });
      if (call.signal.aborted) return onAbort();
      worker.postMessage(message);
    });
  }

  return {
    run,
    stats: () => ({
      workers: all.size,
      busy: all.size - idle.length,
      queued: waiting.length,
      started,
      calls,
    }),
    async close() {
      closed = true;
      for (const wake of waiting.splice(0)) wake();
      await Promise.all([...all].map((slot) => slot.worker.terminate()));
    },
  };
}

function meta(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}
