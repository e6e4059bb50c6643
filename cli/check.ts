import type { Command } from 'commander';
import { UsageError } from './exit-codes.ts';
import { loadTimed } from './startup.ts';

/** The options of `hoist check`, as parsed. */
export interface CheckOptions {
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
        // Loaded on demand: `hoist check --help` and the other commands do not pay for it.
        const { runCheck } = await loadTimed(() => import('./check-run.ts'));
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
