import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { killProcessGroup } from '../process-group.ts';

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

const MASK = '********';

/** Replaces every secret (and its URL-encoded form) in a text. */
export function masker(secrets: readonly string[]): (text: string) => string {
  const forms = [
    ...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]).filter((s) => s.length >= 3)),
  ].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  const pattern = new RegExp(
    forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
    'g',
  );
  return (text) => text.replace(pattern, MASK);
}

/**
 * Runs a job's tasks in order in their own process group, writing a masked log; stops at the
 * first failing task. A timeout or an abort kills the whole process group.
 */
export async function runJob(spec: JobSpec, signal: AbortSignal): Promise<JobOutcome> {
  mkdirSync(spec.cwd, { recursive: true });
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const mask = masker(spec.secrets);
  const write = (text: string) => log.write(mask(text));
  const deadline = Date.now() + spec.timeoutMs;
  try {
    for (const task of spec.tasks) {
      const [command, args] =
        'run' in task
          ? ['/bin/sh', ['-ec', task.run]]
          : [task.exec[0] as string, task.exec.slice(1)];
      write(`$ ${'run' in task ? task.run : task.exec.join(' ')}\n`);
      const result = await runProcess(
        command,
        args,
        spec,
        write,
        Math.max(0, deadline - Date.now()),
        signal,
      );
      if (result.error || result.exitCode !== 0) {
        const error = result.error ?? `exited with code ${result.exitCode}`;
        write(`hoist: task failed: ${error}\n`);
        return { passed: false, exitCode: result.exitCode, error };
      }
    }
    return { passed: true, exitCode: 0, error: null };
  } finally {
    await new Promise<void>((resolve) => log.end(() => resolve()));
  }
}

function runProcess(
  command: string,
  args: string[],
  spec: JobSpec,
  write: (text: string) => void,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ exitCode: number | null; error: string | null }> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
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
      timeoutMs,
    );
    const onAbort = () => killGroup('cancelled');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Mask line by line, so that a secret split across two reads is still found.
    const lines = (stream: NodeJS.ReadableStream | null) => {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const end = pending.lastIndexOf('\n');
        if (end === -1 && pending.length < 65536) return;
        const cut = end === -1 ? pending.length : end + 1;
        write(pending.slice(0, cut));
        pending = pending.slice(cut);
      });
      stream?.on('end', () => pending && write(pending));
    };
    lines(child.stdout);
    lines(child.stderr);
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
