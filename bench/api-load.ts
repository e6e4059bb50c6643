import { gunzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { BENCH_TOKEN } from './hoist-process.ts';

/** What a closed-loop load on one route measured. */
export interface HammerReport {
  path: string;
  clients: number;
  seconds: number;
  requests: number;
  errors: number;
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
  /** Size of the last answer, as sent. */
  bytes: number;
  gzip: boolean;
}

/** Options of a load run. */
export interface HammerOptions {
  clients: number;
  seconds: number;
  /** A request not answered within this time counts as an error (a timeout). */
  timeoutMs?: number;
  /** Each client waits this long between an answer and its next request (a steady load). */
  pauseMs?: number;
  /** Stops early when aborted. */
  signal?: AbortSignal;
  /** Ask for gzip as browsers do (each client decompresses and checks its first answer). */
  gzip?: boolean;
}

/**
 * `clients` clients, each on its own connection, send GET `paths` (in turn) one after the other
 * for `seconds`: every answer must be a 200 with a JSON body, read whole. Latency is from
 * sending to the last byte read.
 */
export async function hammer(
  url: string,
  paths: readonly string[],
  options: HammerOptions,
): Promise<HammerReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pool = new Pool(url, {
    connections: options.clients,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let bytes = 0;
  let turn = 0;
  const started = performance.now();
  const end = started + options.seconds * 1000;
  const pause = options.pauseMs ?? 0;
  const headers: Record<string, string> = { authorization: `Bearer ${BENCH_TOKEN}` };
  if (options.gzip) headers['accept-encoding'] = 'gzip';
  const client = async () => {
    let checked = false;
    while (performance.now() < end && !options.signal?.aborted) {
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      const path = paths[turn++ % paths.length] as string;
      const t = performance.now();
      try {
        const response = await pool.request({ path, method: 'GET', headers });
        const body = Buffer.from(await response.body.arrayBuffer());
        const packed = response.headers['content-encoding'] === 'gzip';
        const first = (packed && !checked ? gunzipSync(body) : body)[0];
        const json = first === 0x5b || first === 0x7b || (packed && checked);
        if (response.statusCode !== 200 || !json) errors++;
        else {
          latencies.push(performance.now() - t);
          bytes = body.length;
          checked ||= packed;
        }
      } catch (error) {
        errors++;
        if (/timeout/i.test(String((error as { code?: string }).code ?? error))) timeouts++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    path: paths.length === 1 ? (paths[0] as string) : `${paths.length} paths`,
    clients: options.clients,
    seconds: Math.round(elapsed),
    requests: latencies.length + errors,
    errors,
    timeouts,
    p50Ms: Math.round(at(0.5)),
    p99Ms: Math.round(at(0.99)),
    maxMs: Math.round(latencies.at(-1) ?? Number.NaN),
    perSecond: Math.round(latencies.length / elapsed),
    bytes,
    gzip: options.gzip ?? false,
  };
}

/** Checks recorded by the server so far (from its metrics). */
export async function checksDone(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  });
  let checks = 0;
  for (const match of (await response.text()).matchAll(
    /^hoist_material_checks_total\{[^}]*\} (\d+)$/gm,
  ))
    checks += Number(match[1]);
  return checks;
}

/** Waits until the server has checked `count` materials (its start-up round), at most 180 s. */
export async function waitForChecks(url: string, count: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while ((await checksDone(url)) < count && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 500));
}
