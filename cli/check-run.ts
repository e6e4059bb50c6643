import {
  ConfigInvalidError,
  type Configuration,
  PluginError,
  type PluginHost,
  PluginNotFoundError,
  type RepositoryPlugin,
  type Revision,
} from 'hoist';
import { bundledPlugins } from '../plugins/index.ts';
import { createPluginRuntime } from '../server/plugin-runtime.ts';
import type { CheckOptions } from './check.ts';
import { EXIT, UsageError } from './exit-codes.ts';
import { stderrLogger } from './logger.ts';

/** Runs `hoist check` with its parsed arguments; resolves to the exit code. */
export async function runCheck(
  repoUrl: string | undefined,
  spec: string | undefined,
  options: CheckOptions,
): Promise<number> {
  const pluginId = options.plugin ?? 'yum';
  const repo: Record<string, string> = parsePairs(options.repo, '--repo');
  const pkg: Record<string, string> = parsePairs(options.package, '--package');
  if (repoUrl !== undefined) {
    if (pluginId !== 'yum')
      throw new UsageError(
        'positional <repo-url> <package-spec> are for the yum plugin; use --repo/--package',
      );
    repo.REPO_URL = repoUrl;
    if (spec === undefined) throw new UsageError('missing <package-spec> after the repository URL');
    pkg.PACKAGE_SPEC = spec;
  }
  if (options.username) repo.USERNAME = options.username;
  if (options.passwordEnv) {
    const password = process.env[options.passwordEnv];
    if (password === undefined)
      throw new UsageError(`environment variable ${options.passwordEnv} is not set`);
    repo.PASSWORD = password;
  }
  if (options.arch) (pluginId === 'apt' ? repo : pkg).ARCH = options.arch;
  const timeoutSeconds = Number(options.timeout);
  if (!(timeoutSeconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  if (Object.keys(repo).length === 0 && Object.keys(pkg).length === 0) {
    throw new UsageError(
      "nothing to check: give '<repo-url> <package-spec>' or --repo/--package (see hoist check --help)",
    );
  }

  if (options.since !== undefined && pluginId === 'yum' && !YUM_LABEL.test(options.since)) {
    throw new UsageError(
      `--since takes a revision label, name-[epoch:]version-release.arch (e.g. app-1.2-1.noarch), got '${options.since}'`,
    );
  }
  // Only the plugin asked for loads (the bundled yum and apt need no process spawned): another installed plugin
  // that is broken does not matter here.
  const extraPlugins =
    pluginId === 'yum' || pluginId === 'apt'
      ? []
      : await installedPlugin(options.dataDir, pluginId);
  const runtime = createPluginRuntime({
    ...(options.verbose ? { logger: stderrLogger(true) } : {}),
    timeoutMs: timeoutSeconds * 1000,
    extraPlugins,
    // One check, nothing else to keep answering: a worker thread would only add its start-up
    // (~0.2 s). The parsers yield, so the deadline still ends the call.
    isolate: process.env.HOIST_ISOLATE_PLUGINS === '1',
  });
  try {
    const { host } = runtime;
    if (options.connection) return await checkConnections(host, pluginId, repo, pkg, options);
    // Validated once, as a server validates a configuration when it is saved.
    const issues = await host.validatePackage(pluginId, repo, pkg);
    if (issues.length > 0) throw new ConfigInvalidError(issues, { pluginId });
    if (options.since !== undefined) {
      const previous = { revision: options.since, timestamp: new Date(0).toISOString(), data: {} };
      const newer = await host.latestRevisionsSince(
        pluginId,
        repo as Configuration,
        pkg as Configuration,
        previous,
      );
      if (options.json) print(JSON.stringify(newer, null, 2));
      else if (newer.length === 0) process.stderr.write(`nothing newer than ${options.since}\n`);
      else for (const revision of newer) print(describe(revision));
      return EXIT.ok;
    }
    const revision = await host.latestRevision(
      pluginId,
      repo as Configuration,
      pkg as Configuration,
    );
    if (!revision) {
      const hint = pluginId === 'yum' ? await unfiltered(host, repo, pkg) : '';
      process.stderr.write(
        `hoist: no package matches ${describeQuery(pkg)}${filters(pkg)}${hint}\n`,
      );
      return EXIT.notFound;
    }
    print(options.json ? JSON.stringify(revision, null, 2) : describe(revision));
    return EXIT.ok;
  } finally {
    await runtime.close();
  }
}

/**
 * GoCD's two connection checks, each answered as GoCD's `{status, messages}`: exit 0 when both
 * succeed, 1 otherwise. Every failure (unreachable, bad URL, refused credentials, bad
 * metadata, a plugin that crashes or answers badly) is an answer, never an error.
 */
async function checkConnections(
  host: PluginHost,
  pluginId: string,
  repo: Record<string, string>,
  pkg: Record<string, string>,
  options: CheckOptions,
): Promise<number> {
  const wire = (r: { ok: boolean; messages: string[] }) => ({
    status: r.ok ? 'success' : 'failure',
    messages: r.messages,
  });
  const repository = wire(await host.checkRepositoryConnection(pluginId, repo));
  const packageCheck =
    Object.keys(pkg).length > 0
      ? wire(await host.checkPackageConnection(pluginId, repo, pkg))
      : undefined;
  const answers = { repository, ...(packageCheck ? { package: packageCheck } : {}) };
  if (options.json) print(JSON.stringify(answers, null, 2));
  else
    for (const [what, answer] of Object.entries(answers))
      print([`${what}: ${answer.status}`, ...answer.messages.map((m) => `  ${m}`)].join('\n'));
  return Object.values(answers).every((a) => a.status === 'success') ? EXIT.ok : EXIT.repository;
}

/** The installed plugin `id` (none when it is not installed); @throws PluginError when it fails to load. */
async function installedPlugin(dataDir: string, id: string): Promise<RepositoryPlugin[]> {
  const { loadInstalledPlugins } = await import('../server/plugins/load.ts');
  const { plugins, status } = await loadInstalledPlugins(dataDir, { only: id });
  const failed = status.find((s) => s.state === 'failed');
  if (failed)
    throw new PluginError(`plugin '${id}' failed to load: ${failed.error}`, { pluginId: id });
  if (plugins.length === 0) {
    // Not installed: name every plugin there is, bundled and installed (only one was loaded).
    const { listInstalled } = await import('../server/plugins/packages.ts');
    const installed = (await listInstalled(dataDir)).map((p) => p.id);
    throw new PluginNotFoundError(id, [...bundledPlugins.map((p) => p.id), ...installed]);
  }
  return plugins;
}

function describe(revision: Revision): string {
  const lines = [revision.revision];
  const built = `  built     ${revision.timestamp}${revision.user ? ` by ${revision.user}` : ''}`;
  lines.push(built);
  if (revision.data.LOCATION) lines.push(`  location  ${revision.data.LOCATION}`);
  if (revision.data.CHECKSUM)
    lines.push(`  checksum  ${revision.data.CHECKSUM_TYPE}:${revision.data.CHECKSUM}`);
  else if (revision.data.SHA256) lines.push(`  checksum  sha256:${revision.data.SHA256}`);
  if (revision.trackbackUrl) lines.push(`  url       ${revision.trackbackUrl}`);
  return lines.join('\n');
}

/**
 * When the filters (ARCH, VERSION_CONSTRAINT, modular streams not enabled) hid every match,
 * what the spec alone finds: a hint that says which filter to change.
 */
async function unfiltered(
  host: PluginHost,
  repo: Record<string, string>,
  pkg: Record<string, string>,
): Promise<string> {
  if (!pkg.PACKAGE_SPEC) return '';
  const found = await host
    .latestRevision('yum', repo as Configuration, {
      PACKAGE_SPEC: pkg.PACKAGE_SPEC,
      INCLUDE_MODULAR: 'true',
    })
    .catch(() => null);
  if (!found) return '';
  const modular = !pkg.ARCH && !pkg.VERSION_CONSTRAINT;
  return modular
    ? `; ${found.revision} is a modular package of a stream that is not enabled (INCLUDE_MODULAR=true takes it)`
    : `; without the filters it finds ${found.revision}`;
}

/** The yum plugin's revision labels: `name-[epoch:]version-release.arch`. */
const YUM_LABEL = /^[^\s]+-(?:\d+:)?[^\s:-]+-[^\s-]+\.[^\s.-]+$/;

/** The filters that narrowed the search, so that a no-match says what else it asked. */
function filters(pkg: Record<string, string>): string {
  const active = [
    pkg.ARCH ? `ARCH ${pkg.ARCH}` : '',
    pkg.VERSION_CONSTRAINT ? `VERSION_CONSTRAINT ${pkg.VERSION_CONSTRAINT}` : '',
  ].filter(Boolean);
  return active.length > 0 ? ` with ${active.join(' and ')}` : '';
}

function describeQuery(pkg: Record<string, string>): string {
  const name = pkg.PACKAGE_SPEC ?? pkg.PACKAGE;
  return name ? `'${name}'` : JSON.stringify(pkg);
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function parsePairs(pairs: string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE, got '${pair}'`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}
