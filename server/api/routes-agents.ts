import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from 'hoist';
import { z } from 'zod';
import type { AgentDispatch } from '../agents/dispatch.ts';
import type { AgentRegistry } from '../agents/registry.ts';
import type { AgentRow } from '../store/store.ts';
import {
  Agent,
  AgentCredentials,
  AgentHeartbeat,
  AgentHeartbeatAnswer,
  AgentLogAnswer,
  AgentLogChunk,
  AgentPatch,
  AgentRegistration,
  AgentResult,
  AgentResultAnswer,
  AgentWork,
  errorsOf,
  NoContent,
  RegistrationKey,
} from './schemas/index.ts';

/** What the agent routes reach. */
export interface AgentRouteOptions {
  registry: AgentRegistry;
  dispatch: AgentDispatch;
  registrationKey: { key: string; source: string };
  /** How long `POST /api/agent/work` waits for a job. */
  longPollMs: number;
}

const admin = (operationId: string, summary: string) => ({
  tags: ['agents'],
  operationId,
  summary,
});
const protocol = (operationId: string, summary: string) => ({
  tags: ['agent protocol'],
  operationId,
  summary,
  description: 'For `hoist agent` with its agent token (user tokens are refused here).',
});
const IdParams = z.object({ id: z.string() });
const JobParams = z.object({ id: z.coerce.number().int().min(1) });

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentRow;
  }
}

/**
 * Agents as admins see them (list, enable, disable, environments, remove, the registration key),
 * and the work protocol `hoist agent` speaks with its own token: register, heartbeat, ask for
 * work (a long poll), post log chunks and the result.
 */
export const agentRoutes: FastifyPluginAsync<AgentRouteOptions> = async (app, options) => {
  const { registry, dispatch } = options;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const agentAuth = async (req: FastifyRequest) => {
    req.agent = await registry.authenticate(req.headers.authorization);
  };
  const agentOf = (req: FastifyRequest) => req.agent as AgentRow;
  const attempt = async (req: FastifyRequest, id: number) => {
    const row = await dispatch.attemptOf(agentOf(req), id);
    if (!row) throw new NotFoundError(`no job ${id} of this agent`);
    return row;
  };

  api.get(
    '/api/agents',
    {
      config: { role: 'viewer' },
      schema: {
        ...admin('listAgents', 'Agents'),
        response: { 200: z.array(Agent), ...errorsOf(401) },
      },
    },
    async () => registry.list(),
  );
  api.get(
    '/api/agents/registration-key',
    {
      config: { role: 'admin' },
      schema: {
        ...admin('getRegistrationKey', 'The key agents register with'),
        response: { 200: RegistrationKey, ...errorsOf(401, 403) },
      },
    },
    async () => options.registrationKey,
  );
  api.get(
    '/api/agents/:id',
    {
      config: { role: 'viewer' },
      schema: {
        ...admin('getAgent', 'An agent'),
        params: IdParams,
        response: { 200: Agent, ...errorsOf(401, 404) },
      },
    },
    async (req) => registry.get(req.params.id),
  );
  api.patch(
    '/api/agents/:id',
    {
      config: { role: 'admin' },
      schema: {
        ...admin('updateAgent', 'Enable or disable an agent, or set its environments'),
        params: IdParams,
        body: AgentPatch,
        response: { 200: Agent, ...errorsOf(400, 401, 403, 404) },
      },
    },
    async (req) => registry.update(req.params.id, req.body),
  );
  api.delete(
    '/api/agents/:id',
    {
      config: { role: 'admin' },
      schema: {
        ...admin('removeAgent', 'Remove an agent: its token stops working'),
        params: IdParams,
        response: { 204: NoContent, ...errorsOf(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await registry.remove(req.params.id);
      return reply.code(204).send();
    },
  );

  api.post(
    '/api/agent/register',
    {
      schema: {
        ...protocol('registerAgent', 'Register an agent with the registration key'),
        security: [],
        body: AgentRegistration,
        response: { 200: AgentCredentials, ...errorsOf(400, 401) },
      },
    },
    async (req) => {
      const { agent, token } = await registry.register(req.body);
      req.log.info(
        { agent: agent.id, hostname: agent.hostname, state: agent.state },
        'agent registered',
      );
      return { id: agent.id, token, state: agent.state };
    },
  );
  api.post(
    '/api/agent/heartbeat',
    {
      onRequest: agentAuth,
      schema: {
        ...protocol('agentHeartbeat', 'An agent is alive; answers the cancels for it'),
        body: AgentHeartbeat,
        response: { 200: AgentHeartbeatAnswer, ...errorsOf(400, 401) },
      },
    },
    async (req) => {
      const before = agentOf(req);
      const beat = await dispatch.heartbeat(before, req.body);
      return { cancel: beat.cancel, state: beat.agent?.state ?? before.state };
    },
  );
  api.post(
    '/api/agent/work',
    {
      onRequest: agentAuth,
      schema: {
        ...protocol('agentWork', 'Ask for one job (a long poll: 204 when none came)'),
        response: { 200: AgentWork, 204: NoContent, ...errorsOf(401) },
      },
    },
    async (req, reply) => {
      const closed = new AbortController();
      // The response closing before it was sent: the agent went away (a drain, a lost network).
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) closed.abort();
      });
      const work = await dispatch.claim(agentOf(req), options.longPollMs, closed.signal);
      if (!work) return reply.code(204).send();
      if (closed.signal.aborted) {
        // The agent went before it heard of the job: it fails at once rather than wait for the timeout.
        await dispatch.result(agentOf(req), work.id, {
          passed: false,
          exitCode: null,
          error: 'the agent closed the connection before it received the job; it did not run',
        });
      }
      return reply.code(200).send(work as z.infer<typeof AgentWork>);
    },
  );
  api.post(
    '/api/agent/jobs/:id/log',
    {
      onRequest: agentAuth,
      schema: {
        ...protocol('agentLog', "Append a chunk of a job's log at its byte offset (idempotent)"),
        params: JobParams,
        body: AgentLogChunk,
        response: { 200: AgentLogAnswer, ...errorsOf(400, 401, 404) },
      },
    },
    async (req) => {
      const row = await attempt(req, req.params.id);
      return { bytes: await dispatch.log(row, req.body.offset, req.body.text, req.body.bytes) };
    },
  );
  api.post(
    '/api/agent/jobs/:id/result',
    {
      onRequest: agentAuth,
      schema: {
        ...protocol('agentResult', "Report a job's end (idempotent)"),
        params: JobParams,
        body: AgentResult,
        response: { 200: AgentResultAnswer, ...errorsOf(400, 401, 404) },
      },
    },
    async (req) => {
      await attempt(req, req.params.id);
      return { recorded: await dispatch.result(agentOf(req), req.params.id, req.body) };
    },
  );
};
