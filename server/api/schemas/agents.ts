import { z } from 'zod';

/** A resource or environment name (as `AgentLabel` of the configuration). */
const AgentLabel = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'may hold letters, digits, _, - and . (not first)');

/** Agents and the work protocol (docs/agent-protocol.md); `agent/protocol.ts` has the same shapes. */

export const AgentState = z.enum(['pending', 'enabled', 'disabled']).meta({ id: 'AgentState' });

export const Agent = z
  .object({
    id: z.string(),
    hostname: z.string(),
    state: AgentState,
    status: z.enum(['idle', 'building', 'draining', 'lost']).meta({
      description: '`lost`: no heartbeat within the agent timeout (HOIST_AGENT_TIMEOUT).',
    }),
    resources: z.array(z.string()),
    environments: z.array(z.string()),
    version: z.string(),
    registeredAt: z.string(),
    lastHeartbeat: z.string().nullable(),
    currentJob: z
      .object({
        id: z.number().int(),
        pipeline: z.string(),
        counter: z.number().int(),
        stage: z.string(),
        job: z.string(),
      })
      .nullable(),
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

export const AgentPatch = z
  .strictObject({
    state: z.enum(['enabled', 'disabled']).optional(),
    environments: z.array(AgentLabel).optional(),
  })
  .meta({ id: 'AgentPatch' });

export const RegistrationKey = z
  .object({ key: z.string(), source: z.string() })
  .meta({ id: 'RegistrationKey' });

export const AgentRegistration = z
  .strictObject({
    key: z.string().min(1),
    hostname: z.string().min(1).max(255),
    resources: z.array(AgentLabel).default([]),
    version: z.string().max(100).default('unknown'),
  })
  .meta({ id: 'AgentRegistration' });

export const AgentCredentials = z
  .object({ id: z.string(), token: z.string(), state: AgentState })
  .meta({ id: 'AgentCredentials' });

export const AgentHeartbeat = z
  .strictObject({
    resources: z.array(AgentLabel).default([]),
    version: z.string().max(100).default('unknown'),
    draining: z.boolean().default(false),
    jobs: z.array(z.number().int()).max(100).optional().meta({
      description:
        'The attempts the agent holds (running, or ended and not yet reported). Only these stay alive; a running job the agent does not name fails once the agent timeout passes. Without it, every running job of the agent stays alive.',
    }),
  })
  .meta({ id: 'AgentHeartbeat' });

export const AgentHeartbeatAnswer = z
  .object({
    cancel: z.array(z.number().int()).meta({
      description:
        'Held attempts to stop: their cancel was asked for, or they already ended on the server (failed while the agent was away).',
    }),
    state: AgentState,
  })
  .meta({ id: 'AgentHeartbeatAnswer' });

/** A job resolved for `runJob`: every task kind travels unchanged. */
export const AgentWork = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    counter: z.number().int(),
    stage: z.string(),
    job: z.string(),
    spec: z.object({
      tasks: z.array(z.record(z.string(), z.unknown())),
      env: z.record(z.string(), z.string()),
      secrets: z.array(z.string()),
      timeoutMs: z.number(),
      cleanupTimeoutMs: z.number(),
    }),
  })
  .meta({ id: 'AgentWork' });

export const AgentLogChunk = z
  .strictObject({
    offset: z.number().int().min(0),
    text: z.string().max(1 << 20),
    bytes: z
      .number()
      .int()
      .min(1)
      .max(1 << 22)
      .optional()
      .meta({
        description:
          "How many bytes of the agent's log file `text` stands for (default: its UTF-8 length); offsets count them, so that bytes that are not UTF-8 do not shift the next offset.",
      }),
  })
  .meta({ id: 'AgentLogChunk' });

export const AgentLogAnswer = z.object({ bytes: z.number().int() }).meta({ id: 'AgentLogAnswer' });

export const AgentResult = z
  .strictObject({
    passed: z.boolean(),
    exitCode: z.number().int().nullable(),
    error: z.string().max(4000).nullable(),
    cancelled: z.boolean().default(false),
  })
  .meta({ id: 'AgentResult' });

export const AgentResultAnswer = z
  .object({ recorded: z.boolean() })
  .meta({ id: 'AgentResultAnswer' });
