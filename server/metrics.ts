import type { PluginCallHooks } from 'hoist';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DispatchMetrics } from './agents/dispatch.ts';
import type { HttpMetrics } from './api/app.ts';
import { type GaugeInputs, gaugeValues } from './metrics-gauges.ts';
import type { JobMetrics } from './pipelines/stage-runner.ts';
import type { PollerMetrics } from './poller/poller.ts';
import type { Store } from './store/store.ts';

/** What the gauges computed at a scrape read. */
export interface ScrapeSources {
  store: Store;
  poller: { dueWaits(now?: number): Promise<number[]>; schedule(): unknown[] };
  instance: { leaseMs: number };
}

/**
 * The server's Prometheus metrics: what the parts report as it happens (checks, jobs, plugin
 * calls, HTTP requests), and gauges read from the store and the poller at each scrape.
 */
export interface ServerMetrics
  extends PollerMetrics,
    JobMetrics,
    DispatchMetrics,
    PluginCallHooks,
    HttpMetrics {
  readonly registry: Registry;
  /** Where the agents gauge is read from at each scrape: the number of agents by state. */
  countAgents(read: () => Promise<Record<string, number>>): void;
  /** The exposition text, the gauges read first. */
  scrape(sources: ScrapeSources): Promise<string>;
}

/** Default Node.js metrics that are gauges although their names end in `_total`. */
const MISNAMED_DEFAULTS = [
  'active_handles_total',
  'active_requests_total',
  'active_resources_total',
];

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const JOB_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** Help and labels of the gauges computed at each scrape (`metrics-gauges.ts`). */
const GAUGES: Record<string, { help: string; labelNames?: string[] }> = {
  hoist_materials: { help: 'Materials (packages) polled by this instance' },
  hoist_materials_overdue: {
    help: 'Materials due for more than 60 s whose check has not started (the poller is behind)',
  },
  hoist_material_oldest_due_seconds: {
    help: 'How long the longest-waiting due material has waited for its check to start (0: none)',
  },
  hoist_materials_failing: {
    help: 'Materials whose last check failed, by repository',
    labelNames: ['repository'],
  },
  hoist_runs: { help: 'Runs by pipeline and status', labelNames: ['pipeline', 'status'] },
  hoist_stages_awaiting_approval: {
    help: 'Stages awaiting a manual approval, by pipeline',
    labelNames: ['pipeline'],
  },
  hoist_approval_oldest_wait_seconds: {
    help: 'How long the oldest stage awaiting approval has waited, by pipeline',
    labelNames: ['pipeline'],
  },
  hoist_pipeline_locked: {
    help: 'Pipelines whose lock is held by a run (1 while locked)',
    labelNames: ['pipeline'],
  },
  hoist_runs_waiting_for_lock: {
    help: 'Runs waiting for their pipeline lock, by pipeline',
    labelNames: ['pipeline'],
  },
  hoist_lock_oldest_wait_seconds: {
    help: 'How long the oldest run waiting for its pipeline lock has waited, by pipeline',
    labelNames: ['pipeline'],
  },
  hoist_instances: {
    help: 'Instances on this store seen within a day: alive (heartbeat within the lease) or gone',
    labelNames: ['state'],
  },
  hoist_leases: {
    help: 'Leases an instance holds, by owner (instance id) and kind (material, run)',
    labelNames: ['owner', 'kind'],
  },
};

/** Creates a registry with process metrics and Hoist's own. */
export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hoist_' });
  // Their per-type gauges stay (`hoist_nodejs_active_handles{type}`): sum them for the total.
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`hoist_nodejs_${name}`);
  const {
    checks,
    checkSeconds,
    checkLateness,
    revisions,
    jobs,
    jobSeconds,
    pluginCalls,
    pluginErrors,
    pluginSeconds,
    requests,
    requestSeconds,
    gauges,
    jobWait,
    agents,
  } = families([registry]);
  let readAgents: (() => Promise<Record<string, number>>) | undefined;
  return {
    registry,
    countAgents(read) {
      readAgents = read;
    },
    jobWaited(seconds) {
      jobWait.observe(seconds);
    },
    checkFinished({ repository, outcome, seconds, newRevisions }) {
      checks.inc({ repository, outcome });
      checkSeconds.observe({ outcome }, seconds);
      if (newRevisions > 0) revisions.inc({ repository }, newRevisions);
    },
    checkStarted(seconds) {
      checkLateness.observe(seconds);
    },
    jobFinished({ pipeline, outcome, seconds }) {
      jobs.inc({ pipeline, outcome });
      jobSeconds.observe({ pipeline, outcome }, seconds);
    },
    callEnded({ pluginId, call, seconds, errorCode }) {
      pluginCalls.inc({ plugin: pluginId, call });
      pluginSeconds.observe({ plugin: pluginId, call }, seconds);
      if (errorCode) pluginErrors.inc({ plugin: pluginId, call, code: errorCode });
    },
    requestFinished({ method, route, status, seconds }) {
      requests.inc({ method, route, status: String(status) });
      requestSeconds.observe({ method, route }, seconds);
    },
    async scrape(sources) {
      const values = gaugeValues(await readInputs(sources));
      for (const [name, samples] of Object.entries(values)) {
        const gauge = gauges.get(name);
        if (!gauge) continue;
        // Reset first: a pipeline or instance that went away leaves no stale series.
        gauge.reset();
        for (const sample of samples) gauge.set(sample.labels, sample.value);
      }
      if (readAgents) {
        const counts = await readAgents();
        agents.reset();
        for (const [state, count] of Object.entries(counts)) agents.set({ state }, count);
      }
      return registry.metrics();
    },
  };
}

/** Hoist's own families, registered. */
function families(registers: Registry[]) {
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string, labelNames: string[], buckets = SECONDS) =>
    new Histogram({ name, help, labelNames, buckets, registers });
  const checks = counter(
    'hoist_material_checks_total',
    'Material checks, by repository and outcome (new, unchanged, nothing, error)',
    ['repository', 'outcome'],
  );
  const checkSeconds = histogram(
    'hoist_material_check_duration_seconds',
    'Duration of material checks, by outcome',
    ['outcome'],
  );
  const checkLateness = histogram(
    'hoist_material_check_lateness_seconds',
    'How long after its due time each scheduled check started',
    [],
    [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  );
  const revisions = counter('hoist_new_revisions_total', 'New revisions stored, by repository', [
    'repository',
  ]);
  const jobs = counter(
    'hoist_jobs_total',
    'Jobs ended, by pipeline and outcome (passed, failed, cancelled)',
    ['pipeline', 'outcome'],
  );
  const jobSeconds = histogram(
    'hoist_job_duration_seconds',
    'Duration of jobs, by pipeline and outcome',
    ['pipeline', 'outcome'],
    JOB_SECONDS,
  );
  const pluginCalls = counter('hoist_plugin_calls_total', 'Plugin calls, by plugin and call', [
    'plugin',
    'call',
  ]);
  const pluginErrors = counter(
    'hoist_plugin_errors_total',
    'Plugin calls that failed, by plugin, call and error code',
    ['plugin', 'call', 'code'],
  );
  const pluginSeconds = histogram(
    'hoist_plugin_call_duration_seconds',
    'Duration of plugin calls, by plugin and call',
    ['plugin', 'call'],
  );
  const requests = counter(
    'hoist_http_requests_total',
    'HTTP requests answered, by method, route (its pattern) and status',
    ['method', 'route', 'status'],
  );
  const requestSeconds = histogram(
    'hoist_http_request_duration_seconds',
    'Time to answer HTTP requests, by method and route',
    ['method', 'route'],
  );
  const gauges = new Map(
    Object.entries(GAUGES).map(([name, spec]) => [
      name,
      new Gauge({ name, help: spec.help, labelNames: spec.labelNames ?? [], registers }),
    ]),
  );
  const jobWait = histogram(
    'hoist_job_wait_seconds',
    'Time jobs for agents waited from being queued (scheduled) to an agent taking them (running)',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  );
  const agents = new Gauge({
    name: 'hoist_agents',
    help: 'Registered agents by state (pending, disabled, idle, building, draining, lost)',
    labelNames: ['state'],
    registers,
  });
  return {
    jobWait,
    agents,
    checks,
    checkSeconds,
    checkLateness,
    revisions,
    jobs,
    jobSeconds,
    pluginCalls,
    pluginErrors,
    pluginSeconds,
    requests,
    requestSeconds,
    gauges,
  };
}

/** Reads what the scrape-time gauges need, from the store and the poller. */
async function readInputs({ store, poller, instance }: ScrapeSources): Promise<GaugeInputs> {
  const now = Date.now();
  const [dueWaits, summaries, runCounts, activeRuns, locks, waiters, instances] = await Promise.all(
    [
      poller.dueWaits(now),
      store.materialSummaries(),
      store.runCounts(),
      store.listActiveRuns(),
      store.listLocks(),
      store.lockWaiters(),
      store.listInstances(now - 86_400_000),
    ],
  );
  return {
    now,
    leaseMs: instance.leaseMs,
    materials: poller.schedule().length,
    dueWaits,
    summaries,
    runCounts,
    activeRuns,
    locks,
    waiters,
    instances,
  };
}
