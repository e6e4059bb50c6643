import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultRequest, WorkAnswer } from './protocol.ts';

/**
 * The agent's record of each job it took, in `<data>/jobs/<id>/`: the job (`job.json`), its
 * masked log (`log`), the process group of its running task (`process.json`) and, once it
 * ended, its result (`result.json`). Kept until the server acknowledged the result, so that an
 * agent that lost the server (or was restarted) reports it when the server is back.
 */
export class Attempts {
  constructor(private readonly dataDir: string) {}

  folder(id: number): string {
    return join(this.dataDir, 'jobs', String(id));
  }

  logFile(id: number): string {
    return join(this.folder(id), 'log');
  }

  begin(work: WorkAnswer): void {
    mkdirSync(this.folder(work.id), { recursive: true, mode: 0o700 });
    const { spec: _secrets, ...where } = work;
    writeFileSync(join(this.folder(work.id), 'job.json'), JSON.stringify(where), { mode: 0o600 });
  }

  process(id: number, pgid: number, start: string): void {
    writeFileSync(join(this.folder(id), 'process.json'), JSON.stringify({ pgid, start }), {
      mode: 0o600,
    });
  }

  end(id: number, result: ResultRequest): void {
    writeFileSync(join(this.folder(id), 'result.json'), JSON.stringify(result), { mode: 0o600 });
  }

  /** Acknowledged by the server: forgotten. */
  forget(id: number): void {
    rmSync(this.folder(id), { recursive: true, force: true });
  }

  /** Attempts not yet acknowledged: with their result, or interrupted (the agent stopped mid-job). */
  unfinished(): {
    id: number;
    result?: ResultRequest;
    process?: { pgid: number; start: string };
  }[] {
    const root = join(this.dataDir, 'jobs');
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .map((name) => {
        const id = Number(name);
        const read = <T>(file: string): T | undefined => {
          try {
            return JSON.parse(readFileSync(join(this.folder(id), file), 'utf8')) as T;
          } catch {
            return undefined;
          }
        };
        return {
          id,
          result: read<ResultRequest>('result.json'),
          process: read<{ pgid: number; start: string }>('process.json'),
        };
      })
      .sort((a, b) => a.id - b.id);
  }
}
