import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PipelineEngine } from '../pipelines/engine.ts';
import { readBoard, readValueStream } from './board.ts';
import type { ServerContext } from './context.ts';
import { Board, errorsOf, ValueStream } from './schemas/index.ts';

const meta = (operationId: string, summary: string) => ({ tags: ['runs'], operationId, summary });

/** The dashboard's aggregated reads: one request per view. */
export const boardRoutes: FastifyPluginAsync<{
  ctx: ServerContext;
  engine: PipelineEngine;
}> = async (app, { ctx, engine }) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/board',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('getBoard', 'Every pipeline with its latest runs, ordered by dependencies'),
        description:
          'Pipelines in groups connected by their upstream materials, each group upstream first; each with its state, upstream and downstream pipelines, its latest `runs` runs (newest first) and which of them rolled a package back.',
        querystring: z.object({ runs: z.coerce.number().int().min(1).max(50).default(5) }),
        response: { 200: Board, ...errorsOf(400, 401) },
      },
    },
    async (req) => readBoard(ctx, engine, req.query.runs),
  );
  api.get(
    '/api/value-stream/:name/:counter',
    {
      config: { role: 'viewer' },
      schema: {
        ...meta('getValueStream', "A run's value stream as a graph"),
        description:
          "The run's package revisions (column 0), every run that carried one of them and the upstream runs they came through (fan-in included), each in the column of its pipeline's distance from the repositories, rollbacks marked; `edges` join packages and upstream runs to the runs that took them.",
        params: z.object({ name: z.string(), counter: z.coerce.number().int().min(1) }),
        response: { 200: ValueStream, ...errorsOf(400, 401, 404) },
      },
    },
    async (req) =>
      readValueStream(ctx, await engine.requireRun(req.params.name, req.params.counter)),
  );
};
