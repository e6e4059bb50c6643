import { hideSecureVariables } from '../catalog/secure-variables.ts';
import { lockedView } from '../pipelines/locking.ts';
import type { TimerView } from '../pipelines/timers.ts';
import type {
  PackageRow,
  PipelineLock,
  PipelineRow,
  RepositoryRow,
  Source,
} from '../store/store.ts';

/** What the API shows of a repository: secure values only as set/unset. */
export interface RepositoryView {
  name: string;
  plugin: string;
  config: Record<string, string>;
  secrets: Record<string, 'set'>;
  source: Source;
  packages: string[];
}

/** What the API shows of a package. */
export interface PackageView {
  repository: string;
  name: string;
  config: Record<string, string>;
  secrets: Record<string, 'set'>;
  pollInterval: string;
  fingerprint: string;
  source: Source;
}

const setOnly = (secrets: Record<string, string>) =>
  Object.fromEntries(Object.keys(secrets).map((k) => [k, 'set' as const]));

export function repositoryView(row: RepositoryRow, packages: PackageRow[]): RepositoryView {
  return {
    name: row.name,
    plugin: row.plugin,
    config: row.config,
    secrets: setOnly(row.secrets),
    source: row.source,
    packages: packages.filter((p) => p.repository === row.name).map((p) => p.name),
  };
}

export function packageView(row: PackageRow): PackageView {
  return {
    repository: row.repository,
    name: row.name,
    config: row.config,
    secrets: setOnly(row.secrets),
    pollInterval: row.pollIntervalMs === null ? 'never' : formatInterval(row.pollIntervalMs),
    fingerprint: row.fingerprint,
    source: row.source,
  };
}

/**
 * What the API shows of a pipeline: its definition (secure variables as `set`), paused, where it came from, why its last
 * scheduling failed (only while it does), with a timer its next and last firing, and which run
 * holds its lock (only while one does).
 */
export function pipelineView(row: PipelineRow, timer: TimerView = {}, lock?: PipelineLock) {
  const locked = lockedView(lock);
  return {
    // Secure variables only as `set`, never their (sealed) values.
    ...(hideSecureVariables(row.definition) as object),
    paused: row.paused,
    source: row.source,
    ...(row.schedulingError ? { schedulingError: row.schedulingError } : {}),
    ...(locked ? { locked } : {}),
    ...timer,
  };
}

/** 60000 → `60s`, 300000 → `5m`. */
export function formatInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
