import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Wall time (s), CPU time (s) and peak RSS (KiB) of one command run. */
export interface Sample {
  seconds: number;
  cpu?: number;
  maxRssKib: number | undefined;
  stdout: string;
  stderr: string;
}

const TIME = '/usr/bin/time';

/**
 * Runs a shell command under GNU time (when present) and returns its wall time and peak RSS.
 * Asynchronous: the benchmark's own loopback server must keep answering meanwhile.
 */
export function timeCommand(command: string): Promise<Sample> {
  const withTime = existsSync(TIME);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [
      '-c',
      withTime ? `${TIME} -f '@@ %e %M %U %S' ${command}` : command,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      if (status !== 0) {
        reject(new Error(`command failed (${status}): ${command}\n${stderr.slice(-2000)}`));
        return;
      }
      const line = stderr.split('\n').find((l) => l.startsWith('@@ '));
      const [, wall, rss, user, system] = line?.split(' ') ?? [];
      resolve({
        seconds: wall ? Number(wall) : elapsed,
        ...(user && system ? { cpu: Number(user) + Number(system) } : {}),
        maxRssKib: rss ? Number(rss) : undefined,
        stdout,
        stderr,
      });
    });
  });
}

/** Median of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** What `repeat` reports of one command. */
export interface Repeated {
  seconds: number;
  maxRssMib: number | undefined;
  outputs: string[];
  /** Each run's stderr. */
  errors: string[];
  /** Each run's CPU time (user + system, s), when GNU time is there. */
  cpuSeconds: number | undefined;
}

/**
 * Runs `command` `runs` times, after one untimed run that warms the page cache and the CPU as
 * for every command compared (each timed run still starts a new process with nothing cached
 * of its own); median seconds, max of peak RSS, and each run's stdout.
 */
export async function repeat(command: string | (() => string), runs: number): Promise<Repeated> {
  const [result] = await repeatTogether([command], runs);
  return result as Repeated;
}

/**
 * `repeat` for commands compared with each other: their runs alternate (a, b, a, b, …), so a
 * slower or busier moment of the machine weighs on all of them alike.
 */
export async function repeatTogether(
  commands: (string | (() => string))[],
  runs: number,
): Promise<Repeated[]> {
  const text = (command: string | (() => string)) =>
    typeof command === 'string' ? command : command();
  for (const command of commands) await timeCommand(text(command));
  const samples: Sample[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, command] of commands.entries()) {
      samples[k]?.push(await timeCommand(text(command)));
    }
  }
  return samples.map((list) => {
    const rss = list.map((s) => s.maxRssKib).filter((r): r is number => r !== undefined);
    const cpu = list.map((s) => s.cpu).filter((c): c is number => c !== undefined);
    return {
      seconds: median(list.map((s) => s.seconds)),
      maxRssMib: rss.length ? Math.max(...rss) / 1024 : undefined,
      outputs: list.map((s) => s.stdout),
      errors: list.map((s) => s.stderr),
      cpuSeconds: cpu.length ? median(cpu) : undefined,
    };
  });
}

/** `command -v` */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}
