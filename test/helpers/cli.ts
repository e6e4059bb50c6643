import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built `hoist` executable (npm ci and npm test build it). */
export const HOIST_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Runs `hoist` as a real process. */
export function runHoist(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(HOIST_BIN)) throw new Error(`${HOIST_BIN} is missing: run npm run build`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HOIST_BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
