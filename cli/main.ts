#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './agent.ts';
import { registerApply } from './apply.ts';
import { registerCheck } from './check.ts';
import { ClientError } from './client.ts';
import { portInUse, registerDemo } from './demo.ts';
import { EXIT, errorLine, exitCodeFor, UsageError } from './exit-codes.ts';
import { registerLockCommands } from './locks.ts';
import { registerOperatorCommands } from './operator.ts';
import { registerRunControlCommands } from './run-control.ts';
import { staticGraphLoaded } from './startup.ts';
import { registerWatch } from './watch.ts';

staticGraphLoaded();

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
  .exitOverride()
  .hook('preAction', (_program, command) => {
    // Short-lived commands compile the HTTP parser (WebAssembly, in undici and fetch) with the
    // baseline compiler only. Otherwise V8 optimises it again on a background thread, and the
    // process waits for that before it may exit: ~100 ms per command. The server keeps the default.
    if (command.name() !== 'serve' && command.name() !== 'demo')
      setFlagsFromString('--liftoff-only');
    // What the server and the plugin commands write into the data folder (the database, keys,
    // logs, work folders, plugins) is for the owner only.
    if (['serve', 'demo', 'publish', 'install', 'remove', 'agent'].includes(command.name()))
      process.umask(0o077);
  });

registerCheck(program);
registerOperatorCommands(program);
registerLockCommands(program);
registerRunControlCommands(program);
registerWatch(program);
registerDemo(program, () => program.opts<{ data?: string }>().data);
registerAgentCommands(program, () => program.opts<{ data?: string }>().data, pkg.version);

program
  .command('serve')
  .summary('run the Hoist server')
  .description(
    [
      'Run the Hoist server: poll package materials and serve the HTTP API on --host:--port.',
      'The admin token comes from HOIST_ADMIN_TOKEN or is generated into <data>/admin-token (mode 0600); secure values are encrypted with HOIST_SECRET_KEY or a key generated into <data>/secret-key.',
      'With --database (or HOIST_DATABASE_URL, which keeps the password out of the process list) several instances share one PostgreSQL database and its work: give them all the same HOIST_SECRET_KEY and configuration file, and each its own data folder. HOIST_LEASE_MS (default 30000) is how long the work of a stopped instance waits for it; HOIST_INSTANCE_ID names the instance (default: kept in <data>/instance-id); HOIST_ADVERTISE_URL is the URL other instances reach this one at (for job logs).',
    ].join('\n\n'),
  )
  .option(
    '--config <file>',
    'configuration file (hoist.yaml) to apply at start; refused whole when invalid',
  )
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0: any free port)', '8153')
  .option(
    '--database <url>',
    'postgres://user:password@host:port/db to share the work with other instances (default: $HOIST_DATABASE_URL, else SQLite in the data folder)',
  )
  .option(
    '--local-agent <mode>',
    'whether the built-in local agent runs jobs: on, off, or auto (while no agent is enabled; default: $HOIST_LOCAL_AGENT or auto)',
  )
  .action(
    async (options: {
      host: string;
      port: string;
      config?: string;
      database?: string;
      localAgent?: string;
    }) => {
      const database = options.database ?? process.env.HOIST_DATABASE_URL;
      if (database && !/^postgres(ql)?:\/\//.test(database)) {
        throw new UsageError(
          `--database must be a postgres:// URL, got '${database.split(':')[0]}:…' (leave it out for SQLite)`,
        );
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`--port must be a port number, got '${options.port}'`);
      }
      // Loaded on demand: `hoist check` should not pay for the server's start-up.
      const { createServer } = await import('../server/index.ts');
      const server = await createServer({
        dataDir: dataDir(),
        host: options.host,
        port,
        ...(options.config ? { configFile: options.config } : {}),
        ...(database ? { database } : {}),
        ...(options.localAgent ? { localAgent: options.localAgent } : {}),
      }).catch((error: NodeJS.ErrnoException) => {
        throw portInUse(error, port);
      });
      process.stderr.write(
        `hoist: listening on ${server.url} (instance ${server.instance.id}, ${server.store.kind === 'postgres' ? 'PostgreSQL, shared' : 'SQLite'})\n`,
      );
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`hoist: ${signal}: stopping (running checks may finish)\n`);
        await server.close();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    },
  );

registerApply(program);

const plugins = program
  .command('plugins')
  .summary('list, install or remove repository plugins')
  .description(
    'Manage repository plugins: the bundled ones and those installed into <data>/plugins.',
  );
plugins
  .command('list')
  .description(
    'list the bundled and installed plugins with their versions and state: each installed plugin\n' +
      'is loaded (an executable is asked for its configuration), and one that fails shows why',
  )
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const { loadInstalledPlugins } = await import('../server/plugins/load.ts');
    const { status } = await loadInstalledPlugins(dataDir());
    const { bundledPlugins } = await import('../plugins/index.ts');
    const rows = [
      ...bundledPlugins.map((p) => ({
        id: p.id,
        version: p.version,
        name: p.displayName,
        source: 'bundled',
        state: 'loaded',
      })),
      ...status.map(({ kind, ...rest }) => ({ ...rest, source: kind })),
    ];
    if (options.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    const line = (r: {
      id: string;
      version: string;
      source: string;
      state: string;
      name: string;
    }) =>
      `${r.id.padEnd(16)} ${r.version.padEnd(10)} ${r.source.padEnd(10)} ${r.state.padEnd(7)} ${r.name}\n`;
    process.stdout.write(
      line({ id: 'ID', version: 'VERSION', source: 'KIND', state: 'STATE', name: 'NAME' }),
    );
    for (const r of rows) {
      process.stdout.write(line(r));
      if ('error' in r && r.error) process.stdout.write(`${''.padEnd(17)}error: ${r.error}\n`);
    }
    if (status.length === 0)
      process.stderr.write(
        `no installed plugins in ${join(resolve(dataDir()), 'plugins')} (--data or HOIST_DATA names the data folder)\n`,
      );
    // A plugin that failed is reported; the command itself did its work.
  });
plugins
  .command('install')
  .description(
    'install a plugin from a .tgz (as npm pack makes it) or a folder into <data>/plugins; it holds\n' +
      'hoist-plugin.json ({"id", "version", "exec": "./path"} or {"id", "version", "main": "./index.js"})',
  )
  .argument('<source>', 'plugin tarball (.tgz) or folder')
  .action(async (source: string) => {
    const { installPlugin } = await import('../server/plugins/packages.ts');
    const installed = await installPlugin(source, dataDir(), await bundledIds());
    process.stdout.write(
      `installed ${installed.id} ${installed.version} (${installed.exec ? 'exec' : 'javascript'}) into ${installed.dir}\n`,
    );
    // Loaded once now, so that a plugin that cannot work says so at once, not at its first use.
    const { loadInstalledPlugins } = await import('../server/plugins/load.ts');
    const [state] = (await loadInstalledPlugins(dataDir(), { only: installed.id })).status;
    if (state?.state === 'failed') {
      process.stderr.write(
        `hoist: ${installed.id} is installed but fails to load: ${state.error} (hoist plugins list shows its state)\n`,
      );
      process.exitCode = EXIT.repository;
    }
  });
plugins
  .command('remove')
  .description('remove an installed plugin')
  .argument('<id>', 'plugin id')
  .action(async (id: string) => {
    const { removePlugin } = await import('../server/plugins/packages.ts');
    await removePlugin(id, dataDir(), await bundledIds());
    process.stdout.write(`removed ${id}\n`);
  });

/** The bundled plugins, loaded only by the commands that list them. */
async function bundledIds(): Promise<string[]> {
  const { bundledPlugins } = await import('../plugins/index.ts');
  return bundledPlugins.map((p) => p.id);
}

function dataDir(): string {
  return program.opts<{ data?: string }>().data ?? process.env.HOIST_DATA ?? './hoist-data';
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ClientError) {
    process.stderr.write(`hoist: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else if (error instanceof CommanderError) {
    // Commander has printed help or the usage error already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    if (process.env.HOIST_DEBUG) console.error(error);
    process.stderr.write(`${errorLine(error)}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
