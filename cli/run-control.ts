import { type Command, InvalidArgumentError } from 'commander';
import { call, resolveClient } from './client.ts';

interface ServerOption {
  server?: string;
  json?: boolean;
}

const SERVER_HELP = 'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)';

/** Registers `hoist cancel`, `hoist pause` and `hoist unpause`: operator commands on runs and pipelines. */
export function registerRunControlCommands(program: Command): void {
  program
    .command('cancel')
    .summary('cancel a building or waiting run')
    .description(
      "Cancel a run: its running jobs are stopped (each running task's onCancel runs first, within HOIST_CLEANUP_TIMEOUT), and its stages that did not run are cancelled. Refused (exit 5) when the run has already ended. Operator role; audited.",
    )
    .argument('<pipeline>')
    .argument('<counter>', 'the run', runCounter)
    .option('--server <url>', SERVER_HELP)
    .option('--json', 'print the run as JSON')
    .action(async (pipeline: string, counter: number, options: ServerOption) => {
      const client = await resolveClient(options);
      const run = await call<{ counter: number; status: string }>(
        client,
        'POST',
        `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${counter}/cancel`,
      );
      process.stdout.write(
        options.json
          ? `${JSON.stringify(run, null, 2)}\n`
          : `${pipeline}/${run.counter} is ${run.status}\n`,
      );
    });
  for (const [name, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    program
      .command(name)
      .summary(
        paused
          ? 'stop new revisions and timers from starting a pipeline'
          : 'let new revisions and timers start a pipeline again',
      )
      .argument('<pipeline>')
      .option('--server <url>', SERVER_HELP)
      .option('--json', 'print JSON')
      .action(async (pipeline: string, options: ServerOption) => {
        const client = await resolveClient(options);
        const result = await call<{ name: string; paused: boolean }>(
          client,
          'POST',
          `/api/pipelines/${encodeURIComponent(pipeline)}/${name}`,
        );
        process.stdout.write(
          options.json
            ? `${JSON.stringify(result, null, 2)}\n`
            : `${pipeline} is ${result.paused ? 'paused' : 'no longer paused'}\n`,
        );
      });
  }
}

/** A run counter: a whole number from 1. */
function runCounter(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a run number, e.g. 12');
  return Number(value);
}
