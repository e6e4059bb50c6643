import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { HttpClient } from 'hoist';
import { killProcessGroup } from '../process-group.ts';
import type { FetchSpec } from './fetch-rules.ts';
import { runFetch } from './fetch-task.ts';
import { ioReason, JobLog } from './job-log.ts';
import {
  afterTask,
  decideTask,
  type Interruption,
  type JobProgress,
  type RunIf,
  runsOnCancel,
} from './task-rules.ts';

/** A task's command: a shell script, or a command and its arguments. */
export type Command = { run: string } | { exec: string[] };

/** A task that runs a command: when it runs, and what runs if its job is cancelled meanwhile. */
export type CommandTask = Command & { runIf?: RunIf; onCancel?: Command };

/** A task that downloads the run's package into the work folder and verifies it. */
export interface FetchTask {
  fetch: FetchSpec;
  runIf?: RunIf;
}

/** A task: a command, or a fetch of the run's package. */
export type Task = CommandTask | FetchTask;

/** The abort reason of a server stop (as opposed to a cancel): nothing more runs. */
export const STOPPING = Symbol('the server is stopping');

/** The clean-up limit when none is given: 5 minutes. */
export const DEFAULT_CLEANUP_TIMEOUT_MS = 300_000;

/** Everything needed to run one job. */
export interface JobSpec {
  tasks: Task[];
  cwd: string;
  env: Record<string, string>;
  /** Values to mask in the log (raw and URL-encoded). */
  secrets: string[];
  logFile: string;
  timeoutMs: number;
  /**
   * The time limit of each clean-up task: an `onCancel`, and the `runIf: failed | any` tasks
   * after a timeout (default 5 minutes).
   */
  cleanupTimeoutMs?: number;
  /** Told the pid of each task's process (the leader of its process group) once it started. */
  onSpawn?: (pid: number) => void;
  /** The HTTP client `fetch` tasks download with (not part of the job: the runner's own). */
  http?: HttpClient;
}

/** How a job ended. */
export interface JobOutcome {
  passed: boolean;
  exitCode: number | null;
  error: string | null;
}

/** How one process ended. */
interface ProcessResult {
  exitCode: number | null;
  error: string | null;
  interruption: Interruption | null;
}

/** A process's time limit, and what its end at the limit is called. */
interface Limit {
  ms: number;
  reason: string;
}

const commandLine = (task: Command | FetchTask) =>
  'fetch' in task ? `fetch ${task.fetch.material}` : 'run' in task ? task.run : task.exec.join(' ');

/**
 * Runs a job's tasks in order, each in its own process group, writing a masked log. After a
 * failure only `runIf: failed | any` tasks run; a cancel kills the running task and runs its
 * `onCancel`; a timeout does that and then runs the `failed | any` tasks, each clean-up task
 * within the clean-up limit (`task-rules.ts` decides). A log that cannot be written (a full
 * disk) or the server's stop kills the running task and runs nothing more.
 */
export async function runJob(spec: JobSpec, signal: AbortSignal): Promise<JobOutcome> {
  const log = new JobLog(spec.logFile, spec.secrets);
  const write = (text: string) => log.write(text);
  const deadline = Date.now() + spec.timeoutMs;
  let progress: JobProgress = { failed: false, interruption: null };
  let first: JobOutcome | null = null;
  try {
    try {
      mkdirSync(spec.cwd, { recursive: true, mode: 0o700 });
    } catch (error) {
      const reason = `cannot create the job's work folder: ${ioReason(error)} (${spec.cwd})`;
      return { passed: false, exitCode: null, error: reason };
    }
    for (const task of spec.tasks) {
      const before = log.failure ? 'log' : signal.aborted ? abortKind(signal) : null;
      if (before && progress.interruption !== before) {
        progress = afterTask(progress, false, before);
        first ??= { passed: false, exitCode: null, error: log.failure ?? 'cancelled' };
      }
      const decision = decideTask(task.runIf, progress);
      if (!decision.run) {
        if (decision.note) write(`hoist: ${decision.note}: ${commandLine(task)}\n`);
        continue;
      }
      if (decision.note) write(`hoist: ${decision.note}\n`);
      const limit: Limit =
        progress.interruption === 'timeout'
          ? cleanupLimit(spec)
          : {
              ms: Math.max(0, deadline - Date.now()),
              reason: `timed out after ${Math.round(spec.timeoutMs / 1000)} s`,
            };
      const result =
        'fetch' in task
          ? await runFetchTask(task, spec, log, limit, signal)
          : await runCommand(task, spec, log, limit, signal);
      const passed = !result.error && result.exitCode === 0;
      if (!passed) {
        const error = result.error ?? `exited with code ${result.exitCode}`;
        write(`hoist: task failed: ${error}\n`);
        first ??= { passed: false, exitCode: result.exitCode, error };
      }
      if ('onCancel' in task && task.onCancel && runsOnCancel(result.interruption))
        await runOnCancel(task.onCancel, spec, log, result.interruption);
      progress = afterTask(progress, passed, result.interruption);
    }
  } finally {
    await log.close();
  }
  if (log.failure) return { passed: false, exitCode: null, error: log.failure };
  if (progress.failed) return first ?? { passed: false, exitCode: null, error: 'cancelled' };
  return { passed: true, exitCode: 0, error: null };
}

/** The killed task's `onCancel`, with the same environment and folder, within the clean-up limit. */
async function runOnCancel(
  task: Command,
  spec: JobSpec,
  log: JobLog,
  why: Interruption | null,
): Promise<void> {
  const what = why === 'timeout' ? 'killed at the time limit' : 'cancelled';
  log.write(`hoist: the task was ${what}; running its onCancel task\n`);
  // Its own signal: the cancel that caused it must not kill it.
  const result = await runCommand(
    task,
    spec,
    log,
    cleanupLimit(spec),
    new AbortController().signal,
  );
  if (result.error || result.exitCode !== 0)
    log.write(
      `hoist: onCancel task failed: ${result.error ?? `exited with code ${result.exitCode}`}\n`,
    );
}

function cleanupLimit(spec: JobSpec): Limit {
  const ms = spec.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS;
  return { ms, reason: `timed out after ${Math.round(ms / 1000)} s (the clean-up limit)` };
}

function abortKind(signal: AbortSignal): Interruption {
  return signal.reason === STOPPING ? 'stop' : 'cancel';
}

/** Runs a fetch task within the job's limit and signal (no process: the runner downloads). */
async function runFetchTask(
  task: FetchTask,
  spec: JobSpec,
  log: JobLog,
  limit: Limit,
  signal: AbortSignal,
): Promise<ProcessResult> {
  const result = await runFetch(task.fetch, {
    cwd: spec.cwd,
    http: spec.http,
    log,
    limit,
    signal,
    aborted: (s) => ({
      kind: abortKind(s),
      why: s.reason === STOPPING ? 'the server is stopping' : 'cancelled',
    }),
  });
  return { exitCode: result.error ? null : 0, ...result };
}

/** Logs and runs one command in its own process group. */
function runCommand(
  task: Command,
  spec: JobSpec,
  log: JobLog,
  limit: Limit,
  signal: AbortSignal,
): Promise<ProcessResult> {
  const [command, args] =
    'run' in task ? ['/bin/sh', ['-ec', task.run]] : [task.exec[0] as string, task.exec.slice(1)];
  log.write(`$ ${commandLine(task)}\n`);
  return runProcess(command, args, spec, log, limit, signal);
}

function runProcess(
  command: string,
  args: string[],
  spec: JobSpec,
  log: JobLog,
  limit: Limit,
  signal: AbortSignal,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    const missing = unreachableCommand(command, spec);
    if (missing) {
      resolve({ exitCode: null, error: `cannot start ${command}: ${missing}`, interruption: null });
      return;
    }
    try {
      // stderr joins stdout in the kernel (`2>&1` before the exec), so the log keeps the order
      // the task wrote in and a secret written half to each stream is one piece to the masker.
      child = spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'hoist-task', command, ...args], {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const error_ = `cannot start ${command}: ${(error as Error).message}`;
      resolve({ exitCode: null, error: error_, interruption: null });
      return;
    }
    if (child.pid !== undefined) spec.onSpawn?.(child.pid);
    let reason: string | null = null;
    let interruption: Interruption | null = null;
    const killGroup = (why: string, kind: Interruption) => {
      reason ??= why;
      interruption ??= kind;
      killProcessGroup(child);
    };
    const timer = setTimeout(
      () => killGroup(limit.reason, 'timeout'),
      // Past 2^31−1 ms a timer fires at once; configurations stop at 7 days.
      Math.min(limit.ms, 2 ** 31 - 1),
    );
    const onAbort = () =>
      killGroup(
        signal.reason === STOPPING ? 'the server is stopping' : 'cancelled',
        abortKind(signal),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    log.onFailure((why) => killGroup(why, 'log'));
    // Both streams into one masker in arrival order: a secret cut anywhere, even half on
    // stdout and half on stderr, is still masked. A slow disk pauses the job's output.
    const forward = (stream: NodeJS.ReadableStream | null) => {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        if (log.write(chunk)) return;
        stream.pause();
        void log.drained().then(() => stream.resume());
      });
    };
    forward(child.stdout);
    forward(child.stderr);
    child.once('error', (error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const why = `cannot start ${command}: ${error.message}`;
      resolve({ exitCode: null, error: why, interruption: null });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ exitCode: code, error: reason, interruption });
    });
  });
}

/** Why a command cannot be started (not found, not executable), or null when it can. */
function unreachableCommand(command: string, spec: Pick<JobSpec, 'cwd' | 'env'>): string | null {
  const candidates = command.includes('/')
    ? [resolvePath(spec.cwd, command)]
    : (spec.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(':')
        .map((dir) => join(dir || '.', command));
  for (const candidate of candidates) {
    try {
      if (!statSync(resolvePath(spec.cwd, candidate)).isFile()) continue;
      accessSync(resolvePath(spec.cwd, candidate), constants.X_OK);
      return null;
    } catch {
      // Not here; try the next.
    }
  }
  return command.includes('/') ? 'no such executable file' : 'not found in PATH';
}
