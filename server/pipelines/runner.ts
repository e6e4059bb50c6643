import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { killProcessGroup } from '../process-group.ts';
import { ioReason, JobLog } from './job-log.ts';

/** A task: a shell script, or a command and its arguments. */
export type Task = { run: string } | { exec: string[] };

/** Everything needed to run one job. */
export interface JobSpec {
  tasks: Task[];
  cwd: string;
  env: Record<string, string>;
  /** Values to mask in the log (raw and URL-encoded). */
  secrets: string[];
  logFile: string;
  timeoutMs: number;
  /** Told the pid of each task's process (the leader of its process group) once it started. */
  onSpawn?: (pid: number) => void;
}

/** How a job ended. */
export interface JobOutcome {
  passed: boolean;
  exitCode: number | null;
  error: string | null;
}

/**
 * Runs a job's tasks in order in their own process group, writing a masked log; stops at the
 * first failing task. A timeout, an abort or a log that cannot be written (a full disk) kills
 * the whole process group and fails the job.
 */
export async function runJob(spec: JobSpec, signal: AbortSignal): Promise<JobOutcome> {
  const log = new JobLog(spec.logFile, spec.secrets);
  const write = (text: string) => log.write(text);
  const deadline = Date.now() + spec.timeoutMs;
  try {
    try {
      mkdirSync(spec.cwd, { recursive: true, mode: 0o700 });
    } catch (error) {
      const reason = `cannot create the job's work folder: ${ioReason(error)} (${spec.cwd})`;
      return { passed: false, exitCode: null, error: reason };
    }
    for (const task of spec.tasks) {
      if (log.failure) break;
      const [command, args] =
        'run' in task
          ? ['/bin/sh', ['-ec', task.run]]
          : [task.exec[0] as string, task.exec.slice(1)];
      write(`$ ${'run' in task ? task.run : task.exec.join(' ')}\n`);
      const result = await runProcess(
        command,
        args,
        spec,
        log,
        Math.max(0, deadline - Date.now()),
        signal,
      );
      if (result.error || result.exitCode !== 0) {
        const error = result.error ?? `exited with code ${result.exitCode}`;
        write(`hoist: task failed: ${error}\n`);
        return { passed: false, exitCode: result.exitCode, error };
      }
    }
  } finally {
    await log.close();
  }
  if (log.failure) return { passed: false, exitCode: null, error: log.failure };
  return { passed: true, exitCode: 0, error: null };
}

function runProcess(
  command: string,
  args: string[],
  spec: JobSpec,
  log: JobLog,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ exitCode: number | null; error: string | null }> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    const missing = unreachableCommand(command, spec);
    if (missing) {
      resolve({ exitCode: null, error: `cannot start ${command}: ${missing}` });
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
      resolve({ exitCode: null, error: `cannot start ${command}: ${(error as Error).message}` });
      return;
    }
    if (child.pid !== undefined) spec.onSpawn?.(child.pid);
    let reason: string | null = null;
    const killGroup = (why: string) => {
      reason ??= why;
      killProcessGroup(child);
    };
    const timer = setTimeout(
      () => killGroup(`timed out after ${Math.round(spec.timeoutMs / 1000)} s`),
      // Past 2^31−1 ms a timer fires at once; configurations stop at 7 days.
      Math.min(timeoutMs, 2 ** 31 - 1),
    );
    const onAbort = () => killGroup('cancelled');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    log.onFailure((why) => killGroup(why));
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
      resolve({ exitCode: null, error: `cannot start ${command}: ${error.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ exitCode: code, error: reason });
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
