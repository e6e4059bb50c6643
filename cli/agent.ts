import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Agent } from '../server/api/schemas/index.ts';
import { CLIENT_EXIT, ClientError, call, resolveClient, table } from './client.ts';
import { UsageError } from './exit-codes.ts';

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** A comma-separated list of labels. */
function labels(text: string | undefined, what: string): string[] {
  if (!text) return [];
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const label of list)
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(label))
      throw new UsageError(`${what}: '${label}' may hold letters, digits, _, - and . (not first)`);
  return list;
}

function readKey(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UsageError(
      `cannot read the registration key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** `hoist agent` (run jobs for a server) and `hoist agents` (an admin's list and changes). */
export function registerAgentCommands(
  program: Command,
  dataDir: () => string | undefined,
  version: string,
): void {
  program
    .command('agent')
    .summary('run jobs for a server, connecting out to it')
    .description(
      [
        'Run jobs for a Hoist server: register once with its registration key (HOIST_AGENT_REGISTRATION_KEY or --registration-key-file), keep the agent token in <data>/agent-token (mode 0600), then ask the server for work, run each job and report it.',
        'SIGTERM lets the running job finish and be reported, then exits. The data folder (--data DIR, before or after agent) defaults to $HOIST_DATA or ./hoist-agent.',
      ].join('\n\n'),
    )
    .requiredOption('--server <url>', 'the server URL (https verified; --ca for a private CA)')
    .option('--ca <file>', 'PEM file of the CA that signed the server certificate')
    .option('--resources <list>', 'resources this agent offers, comma-separated (e.g. rpm,linux)')
    .option('--registration-key-file <file>', 'file holding the server registration key')
    .action(
      async (options: {
        server: string;
        ca?: string;
        resources?: string;
        registrationKeyFile?: string;
      }) => {
        const { HoistAgent } = await import('../agent/agent.ts');
        if (!/^https?:\/\/./.test(options.server))
          throw new UsageError(`--server must be an http or https URL, got '${options.server}'`);
        const data = dataDir() ?? process.env.HOIST_DATA ?? './hoist-agent';
        const key = options.registrationKeyFile
          ? readKey(options.registrationKeyFile)
          : process.env.HOIST_AGENT_REGISTRATION_KEY;
        if (!key && !existsSync(join(data, 'agent-token')))
          throw new UsageError(
            `this agent is not registered yet (no ${join(data, 'agent-token')}): give the server's registration key with HOIST_AGENT_REGISTRATION_KEY or --registration-key-file`,
          );
        const heartbeat = Number(process.env.HOIST_AGENT_HEARTBEAT ?? '5');
        const agent = new HoistAgent({
          server: options.server,
          ...(options.ca ? { caFile: options.ca } : {}),
          resources: labels(options.resources, '--resources'),
          dataDir: data,
          ...(key ? { registrationKey: key } : {}),
          version,
          heartbeatMs: Math.max(100, heartbeat * 1000),
          maxBackoffMs: Number(process.env.HOIST_AGENT_MAX_BACKOFF ?? '30') * 1000,
          say: (line) => process.stderr.write(`${line}\n`),
        });
        process.on('SIGTERM', () => agent.drain());
        process.on('SIGINT', () => agent.drain());
        process.stderr.write(
          `hoist agent: serving ${options.server} with resources [${labels(options.resources, '--resources').join(', ')}]\n`,
        );
        process.exitCode = await agent.run();
      },
    );

  const withServer = (command: Command) =>
    command.option(
      '--server <url>',
      'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)',
    );
  const agents = withServer(program.command('agents'))
    .summary('list agents; enable, disable, remove them, set their environments')
    .option('--json', 'print JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const list = await call<Agent[]>(client, 'GET', '/api/agents');
      if (options.json) return out(JSON.stringify(list, null, 2));
      out(
        table(
          ['ID', 'HOST', 'STATE', 'STATUS', 'RESOURCES', 'ENVIRONMENTS', 'JOB', 'HEARTBEAT'],
          list.map((a) => [
            a.id,
            a.hostname,
            a.state,
            a.status,
            a.resources.join(',') || '-',
            a.environments.join(',') || '-',
            a.currentJob
              ? `${a.currentJob.pipeline}/${a.currentJob.counter} ${a.currentJob.stage}/${a.currentJob.job}`
              : '-',
            a.lastHeartbeat ?? '-',
          ]),
        ),
      );
    });
  const change = (name: string, summary: string, body: (arg?: string) => unknown) =>
    withServer(agents.command(name))
      .summary(summary)
      .argument(
        '<id>',
        'agent id, or the start of one that no other agent shares (see hoist agents)',
      )
      .action(async (id: string, options: { server?: string }) => {
        const client = await resolveClient(options);
        const agent = await call<Agent>(
          client,
          'PATCH',
          `/api/agents/${encodeURIComponent(await agentId(client, id))}`,
          body(),
        );
        out(`${agent.id} ${agent.hostname}: ${agent.state}`);
      });
  change('enable', 'let an agent take jobs', () => ({ state: 'enabled' }));
  change('disable', 'stop giving an agent jobs', () => ({ state: 'disabled' }));
  withServer(agents.command('env'))
    .summary("set an agent's environments")
    .argument('<id>', 'agent id')
    .argument('[environments]', 'comma-separated environments (empty: none)', '')
    .action(async (id: string, list: string, options: { server?: string }) => {
      const client = await resolveClient(options);
      const environments = labels(list, 'environments');
      const agent = await call<Agent>(
        client,
        'PATCH',
        `/api/agents/${encodeURIComponent(await agentId(client, id))}`,
        { environments },
      );
      out(
        `${agent.id} ${agent.hostname}: environments ${agent.environments.join(',') || '(none)'}`,
      );
    });
  withServer(agents.command('remove'))
    .summary('remove an agent (its token stops working)')
    .argument('<id>', 'agent id')
    .action(async (id: string, options: { server?: string }) => {
      const client = await resolveClient(options);
      const full = await agentId(client, id);
      await call(client, 'DELETE', `/api/agents/${encodeURIComponent(full)}`);
      out(`removed ${full}`);
    });
  withServer(agents.command('registration-key'))
    .summary('print the key agents register with (admin)')
    .action(async (options: { server?: string }) => {
      const client = await resolveClient(options);
      const answer = await call<{ key: string }>(client, 'GET', '/api/agents/registration-key');
      if (!answer) throw new ClientError('no key in the answer', CLIENT_EXIT.server);
      out(answer.key);
    });
}

/** An agent's full id from the id or its start (as the dashboard shows it), if one agent has it. */
async function agentId(client: Awaited<ReturnType<typeof resolveClient>>, given: string) {
  const list = await call<Agent[]>(client, 'GET', '/api/agents');
  if (list.some((a) => a.id === given)) return given;
  const matches = list.filter((a) => a.id.startsWith(given));
  if (matches.length === 1) return (matches[0] as Agent).id;
  if (matches.length > 1)
    throw new UsageError(`'${given}' starts the ids of ${matches.length} agents: give more of it`);
  return given;
}
