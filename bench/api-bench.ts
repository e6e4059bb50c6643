import { rmSync } from 'node:fs';
import { type HammerReport, hammer, waitForChecks } from './api-load.ts';
import { startSeededServer } from './api-seed.ts';

/** Options of the read API load. */
export interface ApiLoadOptions {
  repositories: number;
  perRepository: number;
  pipelines: number;
  clients: number;
  seconds: number;
  /** Each route is loaded this many times in turn (the machine's noise shows in the spread). */
  rounds: number;
  /** Each client waits this long after an answer (0: at once, the server's capacity). */
  pauseMs: number;
}

/** The read API's figures, and how large the server was. */
export interface ApiLoadReport {
  materials: number;
  pipelines: number;
  reports: HammerReport[];
  /** The machine's load average (1 min) when each run ended. */
  loads: number[];
}

/** The routes dashboards poll, on a seeded server whose materials go on being checked. */
export const API_ROUTES = ['/api/pipelines', '/api/materials'] as const;

/**
 * `hoist serve` seeded with `repositories × perRepository` materials (3 revisions and checks
 * each, polled every 60 s meanwhile) and `pipelines` pipelines (3 finished runs each); then
 * `clients` clients on each route for `seconds`, plain and asking for gzip, `rounds` times.
 */
export async function apiLoad(
  cache: string,
  baseUrl: string,
  options: ApiLoadOptions,
  loadAverage: () => number,
): Promise<ApiLoadReport> {
  const server = await startSeededServer(cache, baseUrl, {
    repositories: options.repositories,
    perRepository: options.perRepository,
    pipelines: options.pipelines,
    revisions: 3,
    runs: 3,
    pollInterval: '60s',
  });
  try {
    await waitForChecks(server.url, server.materials);
    const reports: HammerReport[] = [];
    const loads: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const path of API_ROUTES) {
        for (const gzip of [false, true]) {
          const { clients, seconds, pauseMs } = options;
          reports.push(await hammer(server.url, [path], { clients, seconds, gzip, pauseMs }));
          loads.push(loadAverage());
        }
      }
    }
    return { materials: server.materials, pipelines: options.pipelines, reports, loads };
  } finally {
    server.stop();
    await server.exited;
    rmSync(server.work, { recursive: true, force: true });
  }
}
