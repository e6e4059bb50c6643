import {
  type Configuration,
  createMemoryState,
  createPluginHost,
  createPluginRegistry,
  DATA_KEY,
  HoistError,
  type HttpClient,
  PLUGIN_ID,
  type PluginHost,
  type RepositoryPlugin,
  type Revision,
  revisionProblem,
  toGoCdProperties,
} from 'hoist';
import { createHttpClient } from '../agent/http/http-client.ts';

/** One sample configuration. */
export interface ConformanceCase {
  /** Shown in violations. */
  name?: string;
  repository: Configuration;
  package: Configuration;
}

/** What to check. */
export interface ConformanceOptions {
  plugin: RepositoryPlugin;
  /** Configurations that must validate, connect and find a revision. */
  valid: ConformanceCase[];
  /** Configurations that must be refused; `keys` are the property keys expected in the issues. */
  invalid?: (ConformanceCase & { keys?: string[] })[];
  /** HTTP client for the plugin; Hoist's own by default. */
  http?: HttpClient;
  /** Time limit per call; default 60 s. */
  timeoutMs?: number;
}

/** What the kit found. */
export interface ConformanceReport {
  /** One sentence per violation; empty when the plugin conforms. */
  violations: string[];
  /** How many checks ran. */
  checks: number;
}

/** Runs every check and reports all violations. */
export async function checkPluginConformance(
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const { plugin } = options;
  const violations: string[] = [];
  let checks = 0;
  const check = (ok: boolean, message: string) => {
    checks++;
    if (!ok) violations.push(message);
  };
  const http = options.http ?? createHttpClient({ userAgent: 'hoist-conformance' });
  const host: PluginHost = createPluginHost({
    registry: createPluginRegistry([plugin]),
    http,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  try {
    checkDefinition(plugin, check);
    for (const [index, sample] of options.valid.entries()) {
      await checkValid(host, plugin, sample, sample.name ?? `valid case ${index + 1}`, check);
    }
    for (const [index, sample] of (options.invalid ?? []).entries()) {
      const label = sample.name ?? `invalid case ${index + 1}`;
      const issues = await host.validatePackage(plugin.id, sample.repository, sample.package);
      check(
        issues.length > 0,
        `${label}: validation accepted a configuration that should be refused`,
      );
      for (const key of sample.keys ?? []) {
        check(
          issues.some((i) => i.key === key),
          `${label}: no validation issue names the key '${key}'`,
        );
      }
      checkIssueKeys(plugin, issues, label, check);
    }
  } finally {
    if (!options.http && 'close' in http) await (http as { close(): Promise<void> }).close();
  }
  return { violations, checks };
}

/** Runs every check and throws one error listing all violations. */
export async function assertPluginConformance(
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const report = await checkPluginConformance(options);
  if (report.violations.length > 0) {
    throw new Error(
      `Plugin '${options.plugin.id}' breaks the contract (${report.violations.length} of ${report.checks} checks):\n- ${report.violations.join('\n- ')}`,
    );
  }
  return report;
}

type Check = (ok: boolean, message: string) => void;

function checkDefinition(plugin: RepositoryPlugin, check: Check): void {
  check(PLUGIN_ID.test(plugin.id), `id '${plugin.id}' is not kebab-case`);
  check(
    plugin.apiVersion === 1,
    `apiVersion is ${plugin.apiVersion}, expected 1 (use defineRepositoryPlugin)`,
  );
  for (const [level, properties] of [
    ['repository', plugin.repositoryProperties],
    ['package', plugin.packageProperties],
  ] as const) {
    const keys = properties.map((p) => p.key);
    check(new Set(keys).size === keys.length, `${level} property keys are not unique`);
    for (const p of properties) {
      check(DATA_KEY.test(p.key), `${level} property '${p.key}' has a key outside [A-Za-z0-9_-]`);
      check(p.displayName.trim() !== '', `${level} property '${p.key}' has an empty display name`);
      check(
        !(p.secure && p.partOfIdentity),
        `${level} property '${p.key}' is secure and part of identity`,
      );
    }
    const orders = properties.map((p) => p.displayOrder);
    check(
      new Set(orders).size === orders.length,
      `${level} properties share display orders: ${orders.join(', ')}`,
    );
    const wire = toGoCdProperties(properties);
    check(
      Object.values(wire).every((w) => /^-?\d+$/.test(w['display-order'])),
      `${level} display orders do not serialise as GoCD integer strings`,
    );
  }
  check(
    plugin.packageProperties.some((p) => p.partOfIdentity) ||
      plugin.repositoryProperties.some((p) => p.partOfIdentity),
    'no property is part of identity: every package would be the same material',
  );
}

function checkIssueKeys(
  plugin: RepositoryPlugin,
  issues: { key: string; message: string }[],
  label: string,
  check: Check,
): void {
  const known = new Set([
    '',
    ...plugin.repositoryProperties.map((p) => p.key),
    ...plugin.packageProperties.map((p) => p.key),
  ]);
  for (const issue of issues) {
    check(known.has(issue.key), `${label}: validation issue names an unknown key '${issue.key}'`);
    check(
      issue.message.trim() !== '',
      `${label}: validation issue for '${issue.key}' has no message`,
    );
  }
}

async function checkValid(
  host: PluginHost,
  plugin: RepositoryPlugin,
  sample: ConformanceCase,
  label: string,
  check: Check,
): Promise<void> {
  const { repository, package: pkg } = sample;
  const issues = await host.validatePackage(plugin.id, repository, pkg);
  check(
    issues.length === 0,
    `${label}: validation refused it: ${issues.map((i) => `${i.key || '(config)'}: ${i.message}`).join('; ')}`,
  );
  if (issues.length > 0) return;

  const extra = await host.validateRepository(plugin.id, { ...repository, NOT_A_REAL_KEY_42: 'x' });
  check(
    extra.some((i) => i.key === '' && i.message.includes('NOT_A_REAL_KEY_42')),
    `${label}: an unknown repository key is not reported`,
  );

  const repoCheck = await host.checkRepositoryConnection(plugin.id, repository).catch((e) => e);
  check(
    !(repoCheck instanceof Error),
    `${label}: checkRepositoryConnection threw instead of answering: ${repoCheck?.message}`,
  );
  if (!(repoCheck instanceof Error)) {
    check(
      repoCheck.ok && repoCheck.messages.length > 0,
      `${label}: checkRepositoryConnection failed: ${repoCheck.messages.join(' ')}`,
    );
  }
  const pkgCheck = await host.checkPackageConnection(plugin.id, repository, pkg).catch((e) => e);
  check(
    !(pkgCheck instanceof Error),
    `${label}: checkPackageConnection threw instead of answering: ${pkgCheck?.message}`,
  );

  const state = createMemoryState();
  let latest: Revision | null;
  try {
    latest = await host.latestRevision(plugin.id, repository, pkg, { state });
  } catch (error) {
    check(false, `${label}: latestRevision failed: ${describe(error)}`);
    return;
  }
  check(latest !== null, `${label}: latestRevision found nothing`);
  if (!latest) return;
  check(
    revisionProblem(latest) === undefined,
    `${label}: latestRevision returned a malformed revision`,
  );
  check(!Number.isNaN(Date.parse(latest.timestamp)), `${label}: the timestamp is not a date`);

  const again = await host.latestRevision(plugin.id, repository, pkg, { state }).catch(() => null);
  check(
    again?.revision === latest.revision,
    `${label}: a second latestRevision answered ${again?.revision}, not ${latest.revision}`,
  );

  if (host.canLookUpRevisions(plugin.id)) {
    const found = await host
      .revisionByLabel(plugin.id, repository, pkg, latest.revision, { state })
      .catch((e) => e);
    check(
      found?.revision === latest.revision,
      `${label}: revisionByLabel(latest) answered ${describe(found)}, not ${latest.revision}`,
    );
    const missing = await host
      .revisionByLabel(plugin.id, repository, pkg, `${latest.revision}-no-such-label`, { state })
      .catch((e) => e);
    check(
      missing === null,
      `${label}: revisionByLabel of an unknown label answered ${describe(missing)}`,
    );
  }

  const none = await host
    .latestRevisionsSince(plugin.id, repository, pkg, latest, { state })
    .catch((e) => e);
  check(
    Array.isArray(none) && none.length === 0,
    `${label}: latestRevisionsSince(latest) is not empty: ${describe(none)}`,
  );

  const fromStart = await host
    .latestRevisionsSince(
      plugin.id,
      repository,
      pkg,
      { revision: '0', timestamp: new Date(0).toISOString(), data: {} },
      { state },
    )
    .catch((e) => e);
  if (Array.isArray(fromStart)) {
    const labels = fromStart.map((r: Revision) => r.revision);
    check(
      new Set(labels).size === labels.length,
      `${label}: latestRevisionsSince repeats a revision`,
    );
    if (labels.length > 0) {
      check(
        labels.at(-1) === latest.revision,
        `${label}: latestRevisionsSince does not end with the latest revision (oldest first)`,
      );
    }
  } else {
    check(
      false,
      `${label}: latestRevisionsSince from the beginning failed: ${describe(fromStart)}`,
    );
  }
}

function describe(value: unknown): string {
  if (value instanceof HoistError) return `${value.code}: ${value.message}`;
  if (value instanceof Error) return value.message;
  return JSON.stringify(value)?.slice(0, 200) ?? String(value);
}
