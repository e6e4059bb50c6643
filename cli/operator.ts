import { type Command, InvalidArgumentError } from 'commander';
import type {
  Instance,
  Material,
  PipelineView,
  QueuedChecks,
  Run,
  ScheduledRun,
} from '../server/api/schemas/index.ts';
import { CLIENT_EXIT, ClientError, call, resolveClient, saveLogin, table } from './client.ts';

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
const stages = (run: Run) => run.stages.map((s) => `${s.name}:${s.status}`).join(' ');
const packages = (run: Run) =>
  Object.values(run.cause.packages)
    .map((r) => r.revision)
    .join(', ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the commands that operate a running server. */
export function registerOperatorCommands(program: Command): void {
  const withServer = (command: Command) =>
    command.option(
      '--server <url>',
      'server URL (default: $HOIST_SERVER, the login file, or http://127.0.0.1:8153)',
    );

  withServer(program.command('login'))
    .summary('remember a server and token')
    .description(
      'Read a token from standard input and keep it, with the server URL, in ~/.config/hoist/login.json (mode 0600).',
    )
    .action(async (options: { server?: string }) => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const token = Buffer.concat(chunks).toString('utf8').trim();
      if (!token) throw new ClientError('no token on standard input', CLIENT_EXIT.usage);
      const server = options.server ?? process.env.HOIST_SERVER ?? 'http://127.0.0.1:8153';
      await call({ server, token }, 'GET', '/api/plugins');
      out(`logged in to ${server} (saved in ${await saveLogin(server, token)})`);
    });

  withServer(program.command('pipelines'))
    .summary('list pipelines with their latest run')
    .option('--json', 'print JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const list = await call<PipelineView[]>(client, 'GET', '/api/pipelines');
      const rows = await Promise.all(
        list.map(async (p) => ({
          ...p,
          latest:
            (
              await call<Run[]>(
                client,
                'GET',
                `/api/pipelines/${encodeURIComponent(p.name)}/runs?limit=1`,
              )
            )[0] ?? null,
        })),
      );
      if (options.json)
        return json(rows.map((r) => ({ name: r.name, paused: r.paused, latest: r.latest })));
      // The lock and timer columns appear only when some pipeline has a lock held or a timer.
      const locks = rows.some((r) => r.locked);
      const timers = rows.some((r) => r.nextTimer);
      const optional = (r: (typeof rows)[number]) => [
        ...(locks
          ? [
              r.locked
                ? `#${r.locked.heldBy}${r.locked.state === 'failed' ? ' (failed)' : ''}`
                : '-',
            ]
          : []),
        ...(timers ? [r.nextTimer ?? '-'] : []),
      ];
      out(
        table(
          [
            'PIPELINE',
            'PAUSED',
            ...(locks ? ['LOCKED BY'] : []),
            ...(timers ? ['NEXT TIMER'] : []),
            'RUN',
            'STATUS',
            'PACKAGES',
            'STAGES',
          ],
          rows.map((r) => [
            r.name,
            r.paused ? 'yes' : 'no',
            ...optional(r),
            r.latest ? String(r.latest.counter) : '-',
            r.latest ? shortState(r.latest) : '-',
            r.latest ? packages(r.latest) : '',
            r.latest ? stages(r.latest) : '',
          ]),
        ),
      );
    });

  withServer(program.command('runs'))
    .summary("list a pipeline's runs")
    .argument('<pipeline>')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(
      async (pipeline: string, options: { server?: string; json?: boolean; limit: string }) => {
        const client = await resolveClient(options);
        const runs = await call<Run[]>(
          client,
          'GET',
          `/api/pipelines/${encodeURIComponent(pipeline)}/runs?limit=${Number(options.limit) || 20}`,
        );
        if (options.json) return json(runs);
        out(
          table(
            ['RUN', 'STATUS', 'TRIGGER', 'CREATED', 'PACKAGES', 'STAGES'],
            runs.map((r) => [
              String(r.counter),
              shortState(r),
              r.triggeredBy ? `${r.trigger} by ${r.triggeredBy}` : r.trigger,
              r.createdAt,
              packages(r),
              stages(r),
            ]),
          ),
        );
      },
    );

  withServer(program.command('approve'))
    .summary('approve a manual stage')
    .argument('<pipeline>')
    .argument('<counter>', 'the run number, e.g. 12', runNumber)
    .argument('<stage>')
    .option('--comment <text>', 'why (kept in the promotion history)')
    .option('--json', 'print JSON')
    .action(
      async (
        pipeline: string,
        counter: string,
        stage: string,
        options: { server?: string; json?: boolean; comment?: string },
      ) => {
        const client = await resolveClient(options);
        const run = await call<Run>(
          client,
          'POST',
          `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(counter)}/stages/${encodeURIComponent(stage)}/approve`,
          options.comment ? { comment: options.comment } : {},
        );
        if (options.json) return json(run);
        out(`approved ${pipeline}/${run.counter} ${stage}; run is ${runState(run)}`);
      },
    );

  withServer(program.command('rerun'))
    .summary('run a failed or cancelled stage again, with the same packages')
    .argument('<pipeline>')
    .argument('<counter>', 'the run number, e.g. 12', runNumber)
    .argument('<stage>')
    .option('--json', 'print JSON')
    .action(
      async (
        pipeline: string,
        counter: string,
        stage: string,
        options: { server?: string; json?: boolean },
      ) => {
        const client = await resolveClient(options);
        const run = await call<Run>(
          client,
          'POST',
          `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(counter)}/stages/${encodeURIComponent(stage)}/run`,
        );
        if (options.json) return json(run);
        out(`re-running ${pipeline}/${run.counter} ${stage}; run is ${runState(run)}`);
      },
    );

  withServer(program.command('trigger'))
    .summary('run a pipeline now, optionally with pinned revisions')
    .argument('<pipeline>')
    .option(
      '--revision <repo/pkg=REV>',
      'pin a package to a revision (repeatable); for a package that comes through an upstream pipeline, the newest upstream run that passed with it is used',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option(
      '--upstream <pipeline=COUNTER>',
      "run with the packages of that upstream run, which must have passed (repeatable), e.g. 'build=2'",
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option(
      '--comment <text>',
      'why; kept as the approval of a manual first stage (triggering it opens it)',
    )
    .option('--follow', 'show progress until the run passes, fails or waits for approval')
    .option('--json', 'print JSON')
    .action(
      async (
        pipeline: string,
        options: {
          server?: string;
          json?: boolean;
          follow?: boolean;
          revision: string[];
          upstream: string[];
          comment?: string;
        },
      ) => {
        const client = await resolveClient(options);
        const revisions = pinsOf(options.revision, '--revision', /^[^/=]+\/[^/=]+$/, /.+/);
        const upstream: Record<string, number> = {};
        for (const [name, counter] of Object.entries(
          pinsOf(options.upstream, '--upstream', /^[^/=]+$/, /^[1-9]\d*$/),
        ))
          upstream[name] = Number(counter);
        const scheduled = await call<ScheduledRun>(
          client,
          'POST',
          `/api/pipelines/${encodeURIComponent(pipeline)}/schedule`,
          { revisions, upstream, ...(options.comment ? { comment: options.comment } : {}) },
        );
        if (!options.follow) {
          if (options.json) return json(scheduled);
          return out(`scheduled ${pipeline}/${scheduled.counter}`);
        }
        let last = '';
        for (;;) {
          const run = await call<Run>(
            client,
            'GET',
            `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${scheduled.counter}`,
          );
          const line = `${pipeline}/${run.counter} ${run.status}  ${stages(run)}`;
          if (line !== last && !options.json) process.stderr.write(`${line}\n`);
          last = line;
          if (run.status !== 'building') {
            if (options.json) json(run);
            else out(`${pipeline}/${run.counter} ${run.status}`);
            process.exitCode =
              run.status === 'passed' || run.status === 'waiting'
                ? CLIENT_EXIT.ok
                : CLIENT_EXIT.server;
            return;
          }
          await sleep(500);
        }
      },
    );

  withServer(program.command('materials'))
    .summary('list materials with their last check and error')
    .option('--json', 'print JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const materials = await call<Material[]>(client, 'GET', '/api/materials?checks=1');
      if (options.json) return json(materials);
      out(
        table(
          ['MATERIAL', 'LATEST', 'LAST CHECK', 'NEXT CHECK', 'ERROR'],
          materials.map((m) => [
            `${m.repository}/${m.package}`,
            m.latestRevision?.revision ?? '-',
            m.lastCheck ? `${m.lastCheck.startedAt} ${m.lastCheck.outcome}` : '-',
            m.nextCheckAt ?? 'on demand',
            m.lastError ?? '',
          ]),
        ),
      );
    });

  withServer(program.command('instances'))
    .summary('list the server instances sharing the database, with the work they hold')
    .option('--json', 'print JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const instances = await call<Instance[]>(client, 'GET', '/api/instances');
      if (options.json) return json(instances);
      out(
        table(
          ['INSTANCE', 'URL', 'ALIVE', 'HEARTBEAT', 'CHECKING', 'RUNS'],
          instances.map((i) => [
            `${i.id}${i.self ? ' (this one)' : ''}`,
            i.url,
            i.alive ? 'yes' : 'no',
            i.heartbeatAt,
            String(i.materials.length),
            i.runs.join(' ') || '-',
          ]),
        ),
      );
    });

  withServer(program.command('check-now'))
    .summary("check a repository's materials now")
    .argument('<repository>')
    .option('--json', 'print JSON')
    .action(async (repository: string, options: { server?: string; json?: boolean }) => {
      const client = await resolveClient(options);
      const result = await call<QueuedChecks>(client, 'POST', '/api/materials/check', {
        repository,
      });
      if (options.json) return json(result);
      out(`checking ${result.queued.map((q) => `${q.repository}/${q.package}`).join(', ')}`);
    });

  withServer(program.command('logs'))
    .summary("print a job's log")
    .argument('<pipeline>')
    .argument('<counter>', 'the run number, e.g. 12', runNumber)
    .argument('<stage>')
    .argument('<job>')
    .option('--follow', 'keep printing until the job ends')
    .action(
      async (
        pipeline: string,
        counter: string,
        stage: string,
        job: string,
        options: { server?: string; follow?: boolean },
      ) => {
        const client = await resolveClient(options);
        const path = `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(counter)}/stages/${encodeURIComponent(stage)}/jobs/${encodeURIComponent(job)}/log`;
        let printed = 0;
        for (;;) {
          const text = await call<string>(client, 'GET', path);
          process.stdout.write(text.slice(printed));
          printed = text.length;
          if (!options.follow) return;
          const run = await call<Run>(
            client,
            'GET',
            `/api/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(counter)}`,
          );
          const status = run.stages
            .find((s) => s.name === stage)
            ?.jobs.find((j) => j.name === job)?.status;
          if (status !== 'building' && status !== 'scheduled') {
            const rest = await call<string>(client, 'GET', path);
            process.stdout.write(rest.slice(printed));
            return;
          }
          await sleep(500);
        }
      },
    );
}

/** `KEY=VALUE` options as a record; a malformed one is a usage error naming the option. */
function pinsOf(values: string[], option: string, key: RegExp, value: RegExp) {
  const shape = option === '--upstream' ? 'PIPELINE=COUNTER' : 'repo/pkg=REVISION';
  const pins: Record<string, string> = {};
  for (const pin of values) {
    const eq = pin.indexOf('=');
    const k = pin.slice(0, Math.max(eq, 0));
    const v = pin.slice(eq + 1);
    if (eq <= 0 || !key.test(k) || !value.test(v))
      throw new ClientError(`${option} takes ${shape}, got '${pin}'`, CLIENT_EXIT.usage);
    if (pins[k] !== undefined && pins[k] !== v)
      throw new ClientError(`${option} pins '${k}' twice: ${pins[k]} and ${v}`, CLIENT_EXIT.usage);
    pins[k] = v;
  }
  return pins;
}

/** A `<counter>` argument: a run number. */
function runNumber(value: string): string {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a run number, e.g. 12');
  return value;
}

/** Why a run's first waiting job waits for an agent (none can run it yet), if one does. */
function agentWait(run: Pick<Run, 'stages'>): string | undefined {
  for (const stage of run.stages)
    for (const job of stage.jobs)
      if (job.waitingFor) return `${stage.name}/${job.name}: ${job.waitingFor}`;
  return undefined;
}

/** A run's status in a table: a run that waits for its pipeline's lock or an agent says so. */
function shortState(run: Pick<Run, 'status' | 'waitingFor' | 'stages'>): string {
  if (run.waitingFor) return 'waiting for the lock';
  return agentWait(run) ? 'waiting for an agent' : run.status;
}

/** A run's status as people read it: a building run that waits for its lock or an agent says why. */
function runState(run: Pick<Run, 'status' | 'waitingFor' | 'stages'>): string {
  const wait = run.waitingFor ?? agentWait(run);
  return wait ? `waiting (${wait})` : run.status;
}
