import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../http/http-client.ts';
import type { FetchOrder } from './fetch-rules.ts';
import { type JobSpec, runJob } from './runner.ts';

const PACKAGE = Buffer.from('an rpm, byte for byte\n'.repeat(4096));
const SUM = createHash('sha256').update(PACKAGE).digest('hex');

let server: Server;
let base: string;
const http = createHttpClient();
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/app.rpm') res.end(PACKAGE);
    else if (req.url === '/private.rpm') {
      const ok = req.headers.authorization === `Basic ${Buffer.from('ci:pw').toString('base64')}`;
      if (ok) res.end(PACKAGE);
      else res.writeHead(401).end();
    } else if (req.url === '/slow.rpm') {
      res.write(PACKAGE.subarray(0, 1000));
      // Never ends: a cancel or the time limit must stop it.
    } else if (req.url === '/endless.rpm') {
      const chunk = Buffer.alloc(64 << 10, 1);
      const more = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', more);
      };
      res.on('close', () => res.off('drain', more));
      more();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await http.close();
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function order(extra: Partial<FetchOrder> = {}): FetchOrder {
  return {
    material: 'internal/app',
    revision: 'app-1.0-1.noarch',
    url: `${base}/app.rpm`,
    file: 'pkg/app.rpm',
    checksum: { type: 'sha256', value: SUM },
    size: PACKAGE.length,
    ...extra,
  };
}

function job(tasks: JobSpec['tasks'], extra: Partial<JobSpec> = {}): JobSpec {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-fetch-'));
  dirs.push(dir);
  return {
    tasks,
    cwd: join(dir, 'work'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    secrets: [],
    logFile: join(dir, 'job.log'),
    timeoutMs: 10_000,
    http,
    ...extra,
  };
}

const leftovers = (spec: JobSpec) =>
  existsSync(join(spec.cwd, 'pkg')) ? readdirSync(join(spec.cwd, 'pkg')) : [];

describe('agent/job/fetch-task', () => {
  it('lands the verified package where the next task finds it, and says so', async () => {
    const spec = job([{ fetch: order() }, { run: 'sha256sum pkg/app.rpm' }]);
    const outcome = await runJob(spec, new AbortController().signal);
    expect(outcome).toEqual({ passed: true, exitCode: 0, error: null });
    expect(readFileSync(join(spec.cwd, 'pkg/app.rpm')).equals(PACKAGE)).toBe(true);
    const log = readFileSync(spec.logFile, 'utf8');
    expect(log).toContain(`hoist: fetch internal/app: app-1.0-1.noarch from ${base}/app.rpm`);
    expect(log).toContain(`${PACKAGE.length} bytes, sha256 ${SUM} OK: pkg/app.rpm`);
    expect(log).toContain(`${SUM}  pkg/app.rpm`);
  });

  it('fails on other bytes under the same name, deletes them, and runs only failed tasks after', async () => {
    const wrong = 'f'.repeat(64);
    const spec = job([
      { fetch: order({ checksum: { type: 'sha256', value: wrong } }) },
      { run: 'echo deployed' },
      { run: 'ls -A pkg', runIf: 'failed' },
    ]);
    const outcome = await runJob(spec, new AbortController().signal);
    expect(outcome.passed).toBe(false);
    expect(outcome.error).toBe(
      `fetch internal/app: ${base}/app.rpm is not the package the run recorded (app-1.0-1.noarch): sha256 expected ${wrong}, got ${SUM}; ${PACKAGE.length} bytes as recorded; the download was deleted`,
    );
    expect(leftovers(spec)).toEqual([]);
    const log = readFileSync(spec.logFile, 'utf8');
    expect(log).toContain(`hoist: task failed: ${outcome.error}\n`);
    expect(log).not.toContain('\ndeployed');
  });

  it('says the checksum of a file a little larger than recorded, and stops one far larger', async () => {
    const small = job([{ fetch: order({ size: 1000 }) }]);
    expect((await runJob(small, new AbortController().signal)).error).toContain(
      `sha256 ${SUM} as recorded; size expected 1000 bytes, got ${PACKAGE.length}`,
    );
    expect(leftovers(small)).toEqual([]);
    // A file that never ends is stopped once it passes the cap, not read to its end.
    const endless = job([{ fetch: order({ url: `${base}/endless.rpm`, size: 10 }) }]);
    expect((await runJob(endless, new AbortController().signal)).error).toBe(
      `fetch internal/app: ${base}/endless.rpm is larger than ${10 + (1 << 20)} bytes (recorded size 10): not the package the run recorded (app-1.0-1.noarch); the download was deleted`,
    );
    expect(leftovers(endless)).toEqual([]);
  });

  it('sends the credentials it was given, and says when they are refused or missing', async () => {
    const url = `${base}/private.rpm`;
    const good = job([{ fetch: order({ url, auth: { username: 'ci', password: 'pw' } }) }]);
    expect((await runJob(good, new AbortController().signal)).passed).toBe(true);
    const none = job([{ fetch: order({ url }) }]);
    expect((await runJob(none, new AbortController().signal)).error).toBe(
      `fetch internal/app: ${url} answered HTTP 401: the repository asks for credentials`,
    );
    const missing = job([{ fetch: order({ url: `${base}/gone.rpm` }) }]);
    expect((await runJob(missing, new AbortController().signal)).error).toBe(
      `fetch internal/app: ${base}/gone.rpm answered HTTP 404`,
    );
  });

  it('ends a download that hangs at a cancel or the time limit, leaving nothing', async () => {
    const url = `${base}/slow.rpm`;
    const cancelled = job([{ fetch: order({ url }) }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const outcome = await runJob(cancelled, controller.signal);
    expect(outcome).toEqual({ passed: false, exitCode: null, error: 'cancelled' });
    expect(leftovers(cancelled)).toEqual([]);
    const timed = job([{ fetch: order({ url }) }], { timeoutMs: 1000 });
    const started = Date.now();
    expect((await runJob(timed, new AbortController().signal)).error).toBe('timed out after 1 s');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(leftovers(timed)).toEqual([]);
  });

  it("reads a local repository's file: location on the machine that runs the job", async () => {
    const spec = job([]);
    const source = join(dirname(spec.cwd), 'repo', 'app.rpm');
    mkdirSync(dirname(source), { recursive: true });
    writeFileSync(source, PACKAGE);
    spec.tasks = [{ fetch: order({ url: pathToFileURL(source).href, file: 'app.rpm' }) }];
    expect((await runJob(spec, new AbortController().signal)).passed).toBe(true);
    expect(readFileSync(join(spec.cwd, 'app.rpm')).equals(PACKAGE)).toBe(true);
  });

  it('fails the task a refusal stands for, with its line', async () => {
    const spec = job([
      { fetch: { material: 'internal/app', refused: 'revision x records no checksum' } },
    ]);
    expect((await runJob(spec, new AbortController().signal)).error).toBe(
      'fetch internal/app: revision x records no checksum',
    );
  });

  it('does not follow a link out of the work folder', async () => {
    const spec = job([{ run: `ln -s ${tmpdir()} pkg` }, { fetch: order() }]);
    const outcome = await runJob(spec, new AbortController().signal);
    expect(outcome.error).toBe(
      "fetch internal/app: pkg/app.rpm leads outside the job's work folder (through a link)",
    );
  });
});
