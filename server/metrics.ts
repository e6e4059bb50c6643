import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PollerMetrics } from './poller/poller.ts';

/** The server's Prometheus metrics. */
export interface ServerMetrics extends PollerMetrics {
  registry: Registry;
  materials: Gauge;
}

/** Creates a registry with process metrics and Hoist's own. */
export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hoist_' });
  const checks = new Counter({
    name: 'hoist_material_checks_total',
    help: 'Material checks, by outcome (new, unchanged, nothing, error)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hoist_material_check_duration_seconds',
    help: 'Duration of material checks',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const revisions = new Counter({
    name: 'hoist_new_revisions_total',
    help: 'New revisions stored',
    registers: [registry],
  });
  const materials = new Gauge({
    name: 'hoist_materials',
    help: 'Materials polled',
    registers: [registry],
  });
  return {
    registry,
    materials,
    checkFinished(outcome, seconds, newRevisions) {
      checks.inc({ outcome });
      duration.observe(seconds);
      if (newRevisions > 0) revisions.inc(newRevisions);
    },
  };
}
