import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOIST_BIN } from './cli.ts';
import { createTestDatabase, testStoreKind } from './postgres.ts';

/** A `hoist serve` process under test. */
export interface ServerProcess {
  url: string;
  dataDir: string;
  /** The PostgreSQL database, when the server uses one. */
  database: string | undefined;
  child: ChildProcess;
  /** Everything the process printed. */
  output(): string;
  /** GET/POST against the API with the admin token. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

/** Writes a configuration file into a new folder; returns its path. */
export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-config-'));
  const file = join(dir, 'hoist.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** With HOIST_TEST_STORE=postgres, each data folder gets a database of its own (kept on restart). */
const databases = new Map<string, Promise<string>>();
function databaseFor(dataDir: string): Promise<string> | undefined {
  if (testStoreKind() !== 'postgres') return undefined;
  let url = databases.get(dataDir);
  if (!url) {
    url = createTestDatabase().then((db) => db.url);
    databases.set(dataDir, url);
  }
  return url;
}

/** Options of `startServer`. */
export interface StartOptions {
  config?: string;
  dataDir?: string;
  env?: Record<string, string>;
  /** `--database`; by default SQLite, or a database per data folder with HOIST_TEST_STORE=postgres. */
  database?: string;
  /** More arguments of `hoist serve` (e.g. `--host 0.0.0.0`). */
  args?: string[];
}

/**
 * Starts `hoist serve --port 0` as a real process and waits until it listens. Rejects with
 * the process's output when it exits first.
 */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hoist-data-'));
  const database = options.database ?? (await databaseFor(dataDir));
  const args = [
    HOIST_BIN,
    '--data',
    dataDir,
    'serve',
    '--port',
    '0',
    ...(options.config ? ['--config', options.config] : []),
    ...(database ? ['--database', database] : []),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      HOIST_ADMIN_TOKEN: ADMIN_TOKEN,
      HOIST_LOG_LEVEL: 'debug',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`hoist serve did not start:\n${output}`)),
      20_000,
    );
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const url = match[1] as string;
      resolve({
        url,
        dataDir,
        database,
        child,
        output: () => output,
        async api(method, path, body, token = ADMIN_TOKEN) {
          const response = await fetch(url + path, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              ...(body === undefined
                ? {}
                : {
                    'content-type':
                      typeof body === 'string' ? 'application/yaml' : 'application/json',
                  }),
            },
            ...(body === undefined
              ? {}
              : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
          });
          const text = await response.text();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON (metrics, logs): the text itself.
          }
          return { status: response.status, body: parsed as never };
        },
        async stop() {
          child.kill('SIGTERM');
          return exited;
        },
        async kill9() {
          child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        Object.assign(new Error(`hoist serve exited with ${code}:\n${output}`), { code, output }),
      );
    });
  });
}

/** Polls `probe` until it returns a value, or fails after `ms`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  ms = 10_000,
  every = 25,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}
