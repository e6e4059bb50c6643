import type { Command } from 'commander';
// The line alone, not the schemas' index: `hoist --help` and every command would load zod.
import { eventLine } from '../server/api/schemas/event-line.ts';
import type { HoistEvent } from '../server/api/schemas/index.ts';
import { CLIENT_EXIT, ClientError, resolveClient } from './client.ts';
import { sseReader } from './sse.ts';

interface WatchOptions {
  server?: string;
  json?: boolean;
  pipeline?: string;
  type?: string[];
  since?: string;
}

const SERVER_HELP = 'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)';

/** `12:03:04  build #3  stage deploy awaiting approval` (the local time of the event). */
export function watchLine(event: HoistEvent): string {
  const at = new Date(event.at);
  const time = Number.isNaN(at.getTime())
    ? '--:--:--'
    : [at.getHours(), at.getMinutes(), at.getSeconds()]
        .map((n) => String(n).padStart(2, '0'))
        .join(':');
  // Control characters (a terminal's escape sequences) from labels or errors are shown as '?'.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is replaced
  return `${time}  ${eventLine(event).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')}`;
}

/** Registers `hoist watch`: the event stream, live. */
export function registerWatch(program: Command): void {
  program
    .command('watch')
    .summary('follow what happens: checks, runs, stages, jobs, approvals')
    .description(
      'Print each event as it happens, one line each (--json: one JSON object per line). Reconnects after a lost connection and goes on after the last event it printed (Last-Event-ID), so nothing is missed or printed twice. Any token; notification events need an operator.',
    )
    .option('--server <url>', SERVER_HELP)
    .option('--json', 'one JSON event per line')
    .option('--pipeline <name>', "only this pipeline's events")
    .option(
      '--type <pattern...>',
      'only these types (e.g. stage.* run.created; repeat or separate with commas)',
    )
    .option('--since <id>', 'start after this event id (default: from now on)')
    .action(async (options: WatchOptions) => {
      const client = await resolveClient(options);
      await watch(client, options);
    });
}

async function watch(client: { server: string; token: string }, options: WatchOptions) {
  const query = new URLSearchParams();
  if (options.pipeline) query.set('pipeline', options.pipeline);
  if (options.type?.length) query.set('types', options.type.join(','));
  const url = new URL(`/api/events${query.size > 0 ? `?${query}` : ''}`, client.server);
  const position: { last?: string } = options.since ? { last: options.since } : {};
  let wait = 500;
  for (;;) {
    const started = Date.now();
    try {
      await follow(url, client.token, position, options.json === true);
      throw new Error('the server closed the stream');
    } catch (error) {
      if (error instanceof ClientError) throw error;
      const after = position.last ? ` after event ${position.last}` : '';
      process.stderr.write(`hoist watch: ${reason(error)}; reconnecting${after}\n`);
    }
    // Back off while the server stays away, up to 10 s; a connection that lasted starts again.
    wait = Date.now() - started > 10_000 ? 500 : Math.min(wait * 2, 10_000);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Follows one connection until it ends, keeping the id of the last event printed. */
async function follow(
  url: URL,
  token: string,
  position: { last?: string },
  json: boolean,
): Promise<void> {
  const last = position.last;
  const response = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'text/event-stream',
      ...(last ? { 'last-event-id': last } : {}),
    },
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    const message = (JSON.parse(text || '{}') as { error?: { message?: string } }).error?.message;
    const code =
      response.status === 401 || response.status === 403
        ? CLIENT_EXIT.refused
        : response.status === 400
          ? CLIENT_EXIT.usage
          : CLIENT_EXIT.server;
    if (code !== CLIENT_EXIT.server)
      throw new ClientError(message ?? `HTTP ${response.status}`, code);
    throw new Error(message ?? `HTTP ${response.status}`);
  }
  const read = sseReader();
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    for (const message of read(decoder.decode(chunk, { stream: true }))) {
      const event = JSON.parse(message.data) as HoistEvent;
      process.stdout.write(`${json ? JSON.stringify(event) : watchLine(event)}\n`);
      position.last = message.id ?? event.id;
    }
  }
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ? `cannot reach the server (${cause.code})` : (error as Error).message;
}
