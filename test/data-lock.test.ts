import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from './helpers/server-process.ts';

// One SQLite data folder serves one `hoist serve`: a second one would take the first one's
// running jobs for orphans of a crash and stop them.
describe.skipIf(process.env.HOIST_TEST_STORE === 'postgres')('a SQLite data folder', () => {
  const servers: ServerProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.child.kill('SIGKILL');
  });

  it('refuses a second server while the first runs, and is taken over once it was killed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hoist-lock-'));
    const first = await startServer({ dataDir });
    servers.push(first);
    const second = await startServer({ dataDir }).then(
      (s) => {
        servers.push(s);
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(second).toMatch(
      new RegExp(`another hoist serve \\(pid ${first.child.pid}\\) uses the data folder`),
    );
    expect((await fetch(`${first.url}/api/health`)).status).toBe(200);

    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const third = await startServer({ dataDir });
    servers.push(third);
    expect((await fetch(`${third.url}/api/health`)).status).toBe(200);
  });
});
