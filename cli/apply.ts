import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ApplySummary } from '../server/api/schemas/index.ts';
import { CLIENT_EXIT, ClientError, call, resolveClient } from './client.ts';

/**
 * `hoist apply`: sends a configuration file to a running server, which applies it whole or not
 * at all. The server and token come as for the operator commands (`--server`, HOIST_SERVER /
 * HOIST_TOKEN, the login file), and so do the exit codes.
 */

/**
 * A refused configuration, as `hoist serve` shows one: every problem on a line of its own,
 * with the file's name where the server could only say "request body".
 */
function inFile(error: unknown, file: string): unknown {
  if (!(error instanceof ClientError) || error.issues.length === 0) return error;
  const lines = error.issues.map(
    (i) => `  ${i.key ? `${i.key}: ` : ''}${i.message.replaceAll('request body', file)}`,
  );
  const count = error.issues.length;
  return new ClientError(
    `${file} is refused (${count} problem${count === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    error.exitCode,
  );
}

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
      const text = await readFile(options.config, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ClientError(
          `cannot read ${options.config}: ${error.code ?? error.message}`,
          CLIENT_EXIT.usage,
        );
      });
      const client = await resolveClient(options);
      const body = await call<ApplySummary>(
        client,
        'POST',
        '/api/config/apply',
        text,
        'application/yaml',
      ).catch((error: unknown) => {
        throw inFile(error, options.config);
      });
      process.stdout.write(
        `applied: ${body.added} added, ${body.changed} changed, ${body.removed} removed${
          body.dropped?.length ? ` (${body.dropped.join(', ')})` : ''
        }\n`,
      );
    });
}
