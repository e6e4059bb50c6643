import type { Command } from 'commander';
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
import { EXIT, UsageError } from './exit-codes.ts';
import { stderrLogger } from './logger.ts';

interface CheckOptions {
  plugin?: string;
  repo: string[];
  package: string[];
  since?: string;
  json?: boolean;
  username?: string;
  passwordEnv?: string;
  arch?: string;
  timeout?: string;
  verbose?: boolean;
  connection?: boolean;
  dataDir: string;
}

/** Registers `hoist check`. */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .summary('find the newest package version in a repository')
    .description(
      'Ask a repository for the newest revision of a package, as the server would when polling.\n\n' +
        'Yum shorthand:   hoist check <repo-url> <package-spec>\n' +
        'Apt shorthand:   hoist check apt+<repo-url> <distribution> <package> (components: --repo COMPONENTS=...)\n' +
        'Any plugin:      hoist check --plugin ID --repo KEY=VALUE... --package KEY=VALUE...\n\n' +
        'Exit codes: 0 found (with --since: answered, even when nothing is newer), 3 nothing matches,\n' +
        '2 bad usage or configuration, 1 repository error.',
    )
    .argument('[repo-url]', 'yum repository root (http, https or file URL)')
    .argument('[package-spec]', 'yum package spec: name, name.arch, name-ver-rel, globs…')
    .argument('[apt-package]', 'apt shorthand only: the package name (globs allowed)')
    .option('--plugin <id>', 'plugin to ask (default: yum)')
    .option('--repo <KEY=VALUE>', 'repository property (repeatable)', collect, [])
    .option('--package <KEY=VALUE>', 'package property (repeatable)', collect, [])
    .option('--since <revision>', 'print every revision newer than this one, oldest first')
    .option('--json', 'print JSON: the revision object (with --since, an array)')
    .option('--username <user>', 'yum, apt: user for HTTP basic authentication')
    .option('--password-env <VAR>', 'yum, apt: read the password from this environment variable')
    .option('--arch <list>', 'yum, apt: architectures to consider, e.g. x86_64,noarch or amd64,all')
    .option('--timeout <seconds>', 'give up after this many seconds', '120')
    .option(
      '--connection',
      "check the connections instead (GoCD's check-repository-connection and check-package-connection)",
    )
    .option('-v, --verbose', 'log what the plugin does on stderr')
    .action(
      async (
        repoUrl: string | undefined,
        spec: string | undefined,
        aptPackage: string | undefined,
        options: CheckOptions,
      ) => {
        const data =
          program.opts<{ data?: string }>().data ?? process.env.HOIST_DATA ?? './hoist-data';
        const positional = aptShorthand(repoUrl, spec, aptPackage, options);
        process.exitCode = await runCheck(positional.repoUrl, positional.spec, {
          ...positional.options,
          dataDir: data,
        });
      },
    );
}

/** `apt+<url> <distribution> <package>` as --plugin apt with REPO_URL, DISTRIBUTION and PACKAGE. */
function aptShorthand(
  repoUrl: string | undefined,
  spec: string | undefined,
  aptPackage: string | undefined,
  options: CheckOptions,
): { repoUrl: string | undefined; spec: string | undefined; options: CheckOptions } {
  if (!repoUrl?.startsWith('apt+')) {
    if (aptPackage !== undefined) throw new UsageError(`unexpected argument '${aptPackage}'`);
    return { repoUrl, spec, options };
  }
  if (options.plugin && options.plugin !== 'apt')
    throw new UsageError(`apt+ URLs are for the apt plugin, not '${options.plugin}'`);
  if (spec === undefined || aptPackage === undefined)
    throw new UsageError(
      'the apt shorthand is: hoist check apt+<repo-url> <distribution> <package>',
    );
  return {
    repoUrl: undefined,
    spec: undefined,
    options: {
      ...options,
      plugin: 'apt',
      repo: [...options.repo, `REPO_URL=${repoUrl.slice(4)}`, `DISTRIBUTION=${spec}`],
      package: [...options.package, `PACKAGE=${aptPackage}`],
    },
  };
}

async function runCheck(
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
