import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLIENT_EXIT, ClientError, call, resolveClient } from './client.ts';

/**
 * `hoist apply`: sends a configuration file to a running server, which applies it whole or not
 * at all. The server and token come as for the operator commands (`--server`, HOIST_SERVER /
 * HOIST_TOKEN, the login file), and so do the exit codes.
 */
export function registerApply(program: Command): void {
  program
    .command('apply')
    .summary('apply a configuration file to a running server')
    .description(
      [
        'Send a configuration file (hoist.yaml) to a running server, which applies it whole or not at all; it needs an admin token.',
        'What the file does not name of what earlier files made is removed; what was made over the API stays. Start the server with the same file, or it will undo this one at its next start.',
        'Exit codes: 0 applied; 1 server unreachable or failed; 2 the file cannot be read or is invalid; 4 no token, a wrong one, or not an admin.',
      ].join('\n\n'),
    )
    .requiredOption('--config <file>', 'configuration file to apply')
    .option(
      '--server <url>',
      'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)',
    )
    .action(async (options: { config: string; server?: string }) => {
      const client = await resolveClient(options);
      const text = await readFile(options.config, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ClientError(
          `cannot read ${options.config}: ${error.code ?? error.message}`,
          CLIENT_EXIT.usage,
        );
      });
      const body = await call<{
        added: number;
        changed: number;
        removed: number;
        dropped?: string[];
      }>(client, 'POST', '/api/config/apply', text, 'application/yaml');
      process.stdout.write(
        `applied: ${body.added} added, ${body.changed} changed, ${body.removed} removed${
          body.dropped?.length ? ` (${body.dropped.join(', ')})` : ''
        }\n`,
      );
    });
}
