import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { PluginError } from 'hoist';
import { killProcessGroup } from '../../agent/process-group.ts';

/** How long a long-lived plugin process may sit idle before it is ended. */
const IDLE_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_LINE = 16 << 20;

/** Every long-lived plugin process now, to end them together (a server stopping). */
const live = new Set<ChildProcessWithoutNullStreams>();

/** Ends every long-lived plugin process (closes its stdin) and waits until each has exited. */
export async function endLinePlugins(): Promise<void> {
  await Promise.all(
    [...live].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          // Held (not unref'd) until the process is gone: whoever waits here keeps running.
          const kill = setTimeout(() => killProcessGroup(proc), 5000);
          proc.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          proc.stdin.end();
        }),
    ),
  );
}

interface Pending {
  resolve: (body: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The opt-in long-lived protocol of an executable plugin (`"protocol": "lines"` in
 * hoist-plugin.json): the plugin runs as `<exec> --lines`, reads one request per line
 * `{"id", "request-name", "request-body"}` and writes one answer per line `{"id",
 * "response-code", "response-body"}`, in any order. One process serves every call of the
 * plugin; it is started at the first call, again after it exits, ended (its stdin closed) after
 * 5 minutes idle, and killed with its process group when a call passes its deadline.
 */
export function createLineChannel(options: {
  executable: string;
  cwd: string;
  pluginId: string;
  timeoutMs?: number;
}) {
  const { pluginId } = options;
  let child: ChildProcessWithoutNullStreams | undefined;
  let nextId = 1;
  let stderr = '';
  let idle: NodeJS.Timeout | undefined;
  const pending = new Map<number, Pending>();
  const failure = (message: string) =>
    new PluginError(`Plugin '${pluginId}' ${message}${lastLine(stderr)}`, { pluginId });

  const failAll = (message: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(failure(message));
    }
  };

  function start(): ChildProcessWithoutNullStreams {
    const proc = spawn(options.executable, ['--lines'], { cwd: options.cwd, detached: true });
    live.add(proc);
    stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    proc.stdin.on('error', () => {});
    // Lines are cut here rather than by readline, so that a plugin writing without a newline is
    // stopped at 16 MiB instead of growing the server's memory until its call's deadline.
    let partial = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      partial += chunk;
      for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
        answer(partial.slice(0, nl).replace(/\r$/, ''));
        partial = partial.slice(nl + 1);
      }
      if (partial.length <= MAX_LINE) return;
      partial = '';
      failAll(`answered a line of more than ${MAX_LINE} bytes`);
      killProcessGroup(proc);
    });
    proc.once('error', (error) => {
      if (child === proc) child = undefined;
      failAll(`could not start ${options.executable}: ${error.message}`);
    });
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      if (child === proc) child = undefined;
      failAll(`exited (${signal ?? `code ${code}`}) with calls in flight`);
    });
    // The plugin never keeps Hoist running: a command exits and its plugin sees the end of stdin.
    proc.unref();
    for (const stream of [proc.stdin, proc.stdout, proc.stderr])
      (stream as unknown as { unref?: () => void }).unref?.();
    return proc;
  }

  function answer(line: string): void {
    if (line.trim() === '') return;
    let message: { id?: unknown; 'response-code'?: unknown; 'response-body'?: unknown };
    try {
      message = JSON.parse(line);
    } catch {
      return void failAll(`wrote a line that is not JSON: ${line.slice(0, 80)}`);
    }
    const p = typeof message.id === 'number' ? pending.get(message.id) : undefined;
    if (!p) return;
    pending.delete(message.id as number);
    clearTimeout(p.timer);
    const body = typeof message['response-body'] === 'string' ? message['response-body'] : '';
    const code = message['response-code'];
    if (code === 200) p.resolve(body);
    else p.reject(failure(`answered with code ${String(code)}: ${body.slice(0, 300)}`));
    if (pending.size === 0) idleSoon();
  }

  function idleSoon(): void {
    clearTimeout(idle);
    idle = setTimeout(() => child?.stdin.end(), IDLE_MS);
    idle.unref();
  }

  return {
    /** Sends one request; answers the response body of a 200. */
    send(requestName: string, body: unknown, signal?: AbortSignal): Promise<string> {
      clearTimeout(idle);
      child ??= start();
      const proc = child;
      const id = nextId++;
      const line = JSON.stringify({
        id,
        'request-name': requestName,
        'request-body': body === undefined ? '' : JSON.stringify(body),
      });
      if (line.length > MAX_LINE) return Promise.reject(failure('request too large'));
      return new Promise<string>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(failure(`did not answer ${requestName} within ${Math.round(timeoutMs / 1000)} s`));
          // A plugin that misses a deadline may be stuck: it is replaced at the next call.
          killProcessGroup(proc);
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        signal?.addEventListener(
          'abort',
          () => {
            if (!pending.delete(id)) return;
            clearTimeout(timer);
            reject(failure('call was cancelled'));
          },
          { once: true },
        );
        proc.stdin.write(`${line}\n`);
      });
    },
  };
}

function lastLine(stderr: string): string {
  const last = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1)
    ?.trim();
  return last ? ` (stderr: ${last.slice(0, 300)})` : '';
}
