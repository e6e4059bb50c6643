import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from 'hoist';
import { z } from 'zod';
import type { AgentDispatch } from '../agents/dispatch.ts';
import type { PipelineEngine } from '../pipelines/engine.ts';
import type { ServerContext } from './context.ts';
import { OPTIONAL_BODY } from './openapi.ts';
import {
  errorsOf,
  PauseState,
  PinChoices,
  Promotion,
  Run,
  ScheduledRun,
  Unlocked,
} from './schemas/index.ts';

const TAGS = ['runs'];
const meta = (operationId: string, summary: string) => ({ tags: TAGS, operationId, summary });
/** Errors of an action on a run or pipeline: its parameters, the token, none such, its state. */
const ACTION_ERRORS = errorsOf(400, 401, 403, 404, 409, 507);
const LOG_TEXT = {
  description: "The job's log, secure values masked.",
  content: { 'text/plain': { schema: z.string() } },
};

const Params = z.object({ name: z.string() });
const RunParams = z.object({ name: z.string(), counter: z.coerce.number().int().min(1) });
const StageParams = RunParams.extend({ stage: z.string() });
const JobParams = StageParams.extend({ job: z.string() });
const ScheduleBody = z.strictObject({
  /** Package revisions by `repo/pkg`: the pipeline's own, or carried by an upstream pipeline. */
  revisions: z
    .record(
      z.string().regex(/^[^/]+\/[^/]+$/, "a package is named 'repository/package'"),
      z.string().min(1),
    )
    .default({}),
  /** Upstream runs by pipeline name: `{"build": 2}` runs with what `build/2` tested. */
  upstream: z.record(z.string().min(1), z.number().int().min(1)).default({}),
  /** Kept as the approval comment of a manual first stage, which the run opens. */
  comment: z.string().max(2000).optional(),
});

/** Pipeline runs: schedule (optionally pinned), list, approve, cancel, pause, job logs. */
export const runRoutes: FastifyPluginAsync<{
  ctx: ServerContext;
  engine: PipelineEngine;
  agents?: AgentDispatch;
}> = async (app, { ctx, engine, agents }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const actor = (req: { principal?: { name: string; role: string; groups: string[] } }) => ({
    name: req.principal?.name ?? 'unknown',
    groups: req.principal?.groups ?? [],
    admin: req.principal?.role === 'admin',
  });

  api.post(
    '/api/pipelines/:name/schedule',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('schedule', 'Run a pipeline now'),
        description:
          'Without a body, with the newest revisions. `revisions` pins packages, `upstream` runs with what an upstream run tested. Answers 202: the run is created, its stages run in the background.',
        params: Params,
        body: ScheduleBody.nullish(),
        ...OPTIONAL_BODY,
        response: { 202: ScheduledRun, ...ACTION_ERRORS, ...errorsOf(422) },
      },
    },
    async (req, reply) => {
      const run = await engine.schedule(
        req.params.name,
        {
          revisions: req.body?.revisions ?? {},
          upstream: req.body?.upstream ?? {},
          ...(req.body?.comment ? { comment: req.body.comment } : {}),
        },
        actor(req),
      );
      return reply
        .code(202)
        .send({ pipeline: run.pipeline, counter: run.counter, cause: run.cause });
    },
  );
  api.get(
    '/api/pipelines/:name/candidates',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('listCandidates', 'What a run of a pipeline may be pinned to'),
        params: Params,
        response: { 200: PinChoices, ...errorsOf(401, 404) },
      },
    },
    async (req) => engine.choices(req.params.name),
  );
  api.get(
    '/api/promotions',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('listPromotions', 'Which stages each revision of a package reached'),
        querystring: z.object({ material: z.string().regex(/^[^/]+\/[^/]+$/) }),
        response: { 200: z.array(Promotion), ...errorsOf(400, 401, 404) },
      },
    },
    async (req) => {
      const [repository, name] = req.query.material.split('/') as [string, string];
      if (!(await ctx.store.getPackage(repository, name)))
        throw new NotFoundError(`no package '${req.query.material}'`);
      return engine.promotions(req.query.material);
    },
  );
  api.get(
    '/api/pipelines/:name/runs',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('listRuns', "A pipeline's runs, newest first"),
        params: Params,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(25) }),
        response: { 200: z.array(Run), ...errorsOf(400, 401, 404) },
      },
    },
    async (req) => {
      if (!(await ctx.store.getPipeline(req.params.name)))
        throw new NotFoundError(`no pipeline '${req.params.name}'`);
      return engine.runViews(
        req.params.name,
        await ctx.store.listRuns(req.params.name, req.query.limit),
      );
    },
  );
  api.get(
    '/api/pipelines/:name/runs/:counter',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('getRun', 'A run with its stages and jobs'),
        params: RunParams,
        response: { 200: Run, ...errorsOf(400, 401, 404) },
        description:
          "A run waiting for its pipeline's lock has `waitingFor`, the reason: \"the lock of pipeline 'deploy', held by run 3 (building)\".",
      },
    },
    async (req) => {
      const run = await engine.requireRun(req.params.name, req.params.counter);
      return (await engine.runViews(req.params.name, [run]))[0] as Run;
    },
  );
  api.post(
    '/api/pipelines/:name/runs/:counter/stages/:stage/approve',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('approve', 'Approve a stage that awaits approval'),
        description: 'The body, with its comment, may be left out (or empty).',
        params: StageParams,
        body: z.object({ comment: z.string().max(2000).optional() }).nullish(),
        ...OPTIONAL_BODY,
        response: { 200: Run, ...ACTION_ERRORS },
      },
    },
    async (req) =>
      engine.approve(
        req.params.name,
        req.params.counter,
        req.params.stage,
        actor(req),
        req.body?.comment,
      ),
  );
  api.post(
    '/api/pipelines/:name/runs/:counter/stages/:stage/run',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('rerunStage', 'Run a finished stage of a run again'),
        params: StageParams,
        response: { 200: Run, ...ACTION_ERRORS },
      },
    },
    async (req) =>
      engine.rerunStage(req.params.name, req.params.counter, req.params.stage, actor(req)),
  );
  api.post(
    '/api/pipelines/:name/runs/:counter/cancel',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('cancel', 'Cancel a run'),
        description:
          'Running jobs are stopped and their `onCancel` tasks run; answers once it is cancelled.',
        params: RunParams,
        response: { 200: Run, ...ACTION_ERRORS },
      },
    },
    async (req) => engine.cancel(req.params.name, req.params.counter),
  );
  for (const [action, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    api.post(
      `/api/pipelines/:name/${action}`,
      {
        config: { role: 'operator' },
        schema: {
          ...meta(
            action,
            paused ? 'Pause a pipeline: nothing new is scheduled' : 'Unpause a pipeline',
          ),
          params: Params,
          response: { 200: PauseState, ...errorsOf(401, 403, 404, 507) },
        },
      },
      async (req) => {
        if (!(await ctx.store.getPipeline(req.params.name)))
          throw new NotFoundError(`no pipeline '${req.params.name}'`);
        await ctx.store.setPipelinePaused(req.params.name, paused);
        return { name: req.params.name, paused };
      },
    );
  }
  api.post(
    '/api/pipelines/:name/unlock',
    {
      config: { role: 'operator' },
      schema: {
        ...meta('unlock', 'Unlock a pipeline that a failed run keeps locked'),
        params: Params,
        response: { 200: Unlocked, ...errorsOf(401, 403, 404, 409, 507) },
        description:
          'Releases the lock that a failed run keeps on a `lockOnFailure` pipeline; the run waiting longest starts. 409 when the pipeline is not locked, or while its holder runs or waits for an approval.',
      },
    },
    async (req) => engine.unlock(req.params.name),
  );
  api.get(
    '/api/pipelines/:name/runs/:counter/stages/:stage/jobs/:job/log',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('getJobLog', "A job's log"),
        params: JobParams,
        response: { 200: LOG_TEXT, ...errorsOf(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const run = await engine.requireRun(req.params.name, req.params.counter);
      const job = run.stages
        .find((s) => s.name === req.params.stage)
        ?.jobs.find((j) => j.name === req.params.job);
      if (!job)
        throw new NotFoundError(
          `no job ${req.params.stage}/${req.params.job} in ${req.params.name}/${req.params.counter}`,
        );
      const local = await readFile(
        engine.logPath(req.params.name, req.params.counter, req.params.stage, req.params.job),
        'utf8',
      ).catch(() => undefined);
      // A job that ran on an agent has its log in the store, whichever instance took it in.
      const text =
        local ??
        (await agents?.logOf(job.id)) ??
        (req.headers['x-hoist-forwarded']
          ? ''
          : await remoteLog(ctx, job.id, req.url, req.headers.authorization));
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );
};

/**
 * A job's log lives in the data folder of the instance that ran it: another instance fetches it
 * from there (once: the request is marked as forwarded).
 */
async function remoteLog(
  ctx: ServerContext,
  jobId: number,
  path: string,
  authorization: string | undefined,
): Promise<string> {
  const owner = await ctx.store.jobInstance(jobId);
  if (!owner || owner === ctx.instance.id) return '';
  const instance = (await ctx.store.listInstances(Date.now() - ctx.instance.leaseMs)).find(
    (i) => i.id === owner,
  );
  if (!instance) {
    throw new NotFoundError(
      `the log of this job is kept by instance '${owner}', which is not running`,
    );
  }
  try {
    const response = await fetch(new URL(path, instance.url), {
      headers: { authorization: authorization ?? '', 'x-hoist-forwarded': ctx.instance.id },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (error) {
    throw new NotFoundError(
      `the log of this job is kept by instance '${owner}' at ${instance.url}, which did not answer: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
