import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOIST = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** The admin token of servers the benchmark starts. */
export const BENCH_TOKEN = 'bench-admin-token-0123456789';

/** A `hoist serve` the benchmark started. */
export interface HoistProcess {
  url: string;
  pid: number;
  stop(): void;
  /** Resolves when the process has exited (after `stop`, once it has closed its store). */
  exited: Promise<void>;
}

/** Options of a benchmark server. */
export interface StartOptions {
  /** PostgreSQL URL (several instances share it); default SQLite in the data folder. */
  database?: string;
  /** Data folder name under `work` (one per instance); default `data`. */
  data?: string;
}

/** Starts `hoist serve --port 0` over `<work>/hoist.yaml` and waits until it listens. */
export function startHoist(work: string, options: StartOptions = {}): Promise<HoistProcess> {
  const child = spawn(
    process.execPath,
    [
      // HOIST_BENCH_PROFILE=<folder>: the server writes a CPU profile there when it stops.
      ...(process.env.HOIST_BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HOIST_BENCH_PROFILE}`]
        : []),
      HOIST,
      '--data',
      join(work, options.data ?? 'data'),
      'serve',
      '--port',
      '0',
      '--config',
      join(work, 'hoist.yaml'),
      ...(options.database ? ['--database', options.database] : []),
    ],
    {
      env: {
        ...process.env,
        HOIST_ADMIN_TOKEN: BENCH_TOKEN,
        HOIST_SECRET_KEY: 'bench-secret-key',
        HOIST_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (d) => {
      text += d;
      const match = /listening on (\S+)/.exec(text);
      if (match)
        resolve({
          url: match[1] as string,
          pid: child.pid as number,
          stop: () => child.kill('SIGTERM'),
          exited,
        });
    });
    child.once('exit', (code) => reject(new Error(`hoist serve exited with ${code}: ${text}`)));
  });
}
