#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { bundledPlugins } from '../plugins/index.ts';
import { registerCheck } from './check.ts';
import { EXIT, errorLine, exitCodeFor, UsageError } from './exit-codes.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('hoist')
  .description(
    'Continuous delivery triggered by new package versions: promote the same package through stages and pipelines.',
  )
  .version(pkg.version)
  .option('--data <dir>', 'data folder (default: $HOIST_DATA or ./hoist-data)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerCheck(program);

program
  .command('serve')
  .summary('run the Hoist server')
  .description(
    'Run the Hoist server: HTTP API on --host:--port. The admin token comes from HOIST_ADMIN_TOKEN or is generated into <data>/admin-token (mode 0600).',
  )
  .option('--config <file>', 'configuration file to apply at start (hoist.yaml)')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on', '8153')
  .option('--database <url>', 'database URL (default: SQLite in the data folder)')
  .action(async (options: { host: string; port: string; config?: string; database?: string }) => {
    if (options.config || options.database) {
      throw new UsageError(
        '--config and --database are not supported by this version of hoist serve yet',
      );
    }
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be a port number, got '${options.port}'`);
    // Loaded on demand: `hoist check` should not pay for the server's start-up.
    const { createServer } = await import('../server/index.ts');
    const server = await createServer({
      dataDir: dataDir(),
      host: options.host,
      port,
      logger: true,
    });
    process.stderr.write(`hoist: listening on ${server.url}\n`);
    const stop = async () => {
      await server.close();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

const plugins = program
  .command('plugins')
  .summary('list, install or remove repository plugins')
  .description(
    'Manage repository plugins: the bundled ones and those installed into <data>/plugins.',
  );
plugins
  .command('list')
  .description('list the available plugins with their versions')
  .option('--json', 'print JSON')
  .action((options: { json?: boolean }) => {
    const rows = bundledPlugins.map((p) => ({
      id: p.id,
      version: p.version,
      name: p.displayName,
      source: 'bundled',
    }));
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      for (const r of rows)
        process.stdout.write(
          `${r.id.padEnd(16)} ${r.version.padEnd(10)} ${r.source.padEnd(10)} ${r.name}\n`,
        );
  });
plugins
  .command('install')
  .description('install a plugin from a .tgz or a folder into <data>/plugins')
  .argument('<source>', 'plugin tarball (.tgz) or folder')
  .action(() => {
    throw new UsageError('installing external plugins is not supported by this version of hoist');
  });
plugins
  .command('remove')
  .description('remove an installed plugin')
  .argument('<id>', 'plugin id')
  .action(() => {
    throw new UsageError('removing external plugins is not supported by this version of hoist');
  });

function dataDir(): string {
  return program.opts<{ data?: string }>().data ?? process.env.HOIST_DATA ?? './hoist-data';
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed help or the usage error already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    if (process.env.HOIST_DEBUG) console.error(error);
    process.stderr.write(`${errorLine(error)}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
