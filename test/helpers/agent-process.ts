import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOIST_BIN } from './cli.ts';

/** A `hoist agent` process under test. */
export interface AgentProcess {
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once it exited. */
  exited: Promise<number | null>;
  /** SIGTERM (drain), and wait for the exit. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Short timings for tests: heartbeats every 300 ms, a 3 s long poll, back-off up to 1 s. */
export const FAST_AGENT_ENV = {
  HOIST_AGENT_HEARTBEAT: '0.3',
  HOIST_AGENT_MAX_BACKOFF: '1',
};

/** Starts `hoist agent` (inside network namespace `netns` when given). */
export function startAgent(options: {
  server: string;
  key: string;
  resources?: string[];
  dataDir?: string;
  netns?: string;
  env?: Record<string, string>;
}): AgentProcess {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hoist-agent-'));
  const args = [
    HOIST_BIN,
    '--data',
    dataDir,
    'agent',
    '--server',
    options.server,
    ...(options.resources?.length ? ['--resources', options.resources.join(',')] : []),
  ];
  const [command, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command as string, argv as string[], {
    env: {
      ...process.env,
      ...FAST_AGENT_ENV,
      HOIST_AGENT_REGISTRATION_KEY: options.key,
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
  return {
    dataDir,
    child,
    output: () => output,
    exited,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A network namespace joined to this one by a veth pair: another host as far as IP goes. */
export interface Netns {
  name: string;
  /** This side's address (the server listens on it). */
  hostAddress: string;
  remove(): void;
}

/** Creates a namespace with a veth pair, or answers why it cannot be made here. */
export function createNetns(tag: string): Netns | { error: string } {
  const name = `hoist-${tag}`;
  const host = `vh${tag}`.slice(0, 15);
  const peer = `va${tag}`.slice(0, 15);
  // A /30 of its own for each test process (the pid picks it), so parallel suites never share one.
  const block = `10.231.${(process.pid >> 6) & 255}`;
  const base = (process.pid & 63) * 4;
  const hostAddress = `${block}.${base + 1}`;
  const run = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const remove = () => {
    for (const args of [
      ['link', 'del', host],
      ['netns', 'del', name],
    ]) {
      try {
        run(...args);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    remove();
    run('netns', 'add', name);
    run('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    run('link', 'set', peer, 'netns', name);
    run('addr', 'add', `${hostAddress}/30`, 'dev', host);
    run('link', 'set', host, 'up');
    run('netns', 'exec', name, 'ip', 'addr', 'add', `${block}.${base + 2}/30`, 'dev', peer);
    run('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up');
    run('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    return { name, hostAddress, remove };
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { error: stderr || (error as Error).message };
  }
}
