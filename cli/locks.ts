import type { Command } from 'commander';
import type { Unlocked } from '../server/api/schemas/index.ts';
import { call, resolveClient } from './client.ts';

/** Registers `hoist unlock`, the operator command of pipeline locks. */
export function registerLockCommands(program: Command): void {
  program
    .command('unlock')
    .summary('unlock a pipeline that a failed run keeps locked')
    .description(
      'Release the lock of a lockOnFailure pipeline, kept by its failed run: the run waiting longest starts. Refused (exit 5) when the pipeline is not locked, or while the run holding it builds or waits for an approval (cancel it first). Operator role; audited.',
    )
    .argument('<pipeline>')
    .option(
      '--server <url>',
      'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)',
    )
    .option('--json', 'print JSON')
    .action(async (pipeline: string, options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const result = await call<Unlocked>(
        client,
        'POST',
        `/api/pipelines/${encodeURIComponent(pipeline)}/unlock`,
      );
      process.stdout.write(
        options.json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `unlocked ${pipeline} (it was held by run ${result.unlocked})\n`,
      );
    });
}
