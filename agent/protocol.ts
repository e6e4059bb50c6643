import type { JobOutcome, JobSpec } from './job/runner.ts';

/**
 * The work protocol between `hoist agent` and a server (docs/agent-protocol.md): plain JSON over
 * HTTP, the agent always the client. These are the bodies; the server's zod schemas
 * (`server/api/schemas/agents.ts`) describe the same shapes for the OpenAPI document.
 */

/** A job as the server resolved it, and as `runJob` takes it (but where it runs and its log). */
export type ResolvedJob = Pick<JobSpec, 'tasks' | 'env' | 'secrets' | 'timeoutMs'> & {
  cleanupTimeoutMs: number;
};

/** `POST /api/agent/register`: the key and what the agent says of itself. */
export interface RegisterRequest {
  key: string;
  hostname: string;
  resources: string[];
  version: string;
}

/** Its answer: the agent's id and token (the server keeps only the token's digest). */
export interface RegisterAnswer {
  id: string;
  token: string;
  state: 'pending' | 'enabled' | 'disabled';
}

/** `POST /api/agent/work` answers one job (200), or 204 when none came within the long poll. */
export interface WorkAnswer {
  /** The attempt's id: the log and the result are posted under it. */
  id: number;
  pipeline: string;
  counter: number;
  stage: string;
  job: string;
  spec: ResolvedJob;
}

/** `POST /api/agent/heartbeat`. */
export interface HeartbeatRequest {
  resources: string[];
  version: string;
  draining: boolean;
  /** The attempts it holds: running, or ended and not yet reported. */
  jobs: number[];
}

/** Its answer: the attempts to cancel, and the agent's state. */
export interface HeartbeatAnswer {
  cancel: number[];
  state: 'pending' | 'enabled' | 'disabled';
}

/** `POST /api/agent/jobs/:id/log`: bytes `offset`.. of the (masked) log, as text. */
export interface LogChunk {
  offset: number;
  text: string;
  /** The bytes of the log file `text` stands for. */
  bytes: number;
}

/** Its answer: how many bytes of the log the server has (resume from there). */
export interface LogAnswer {
  bytes: number;
}

/** `POST /api/agent/jobs/:id/result`: the job's end; posting it again changes nothing. */
export type ResultRequest = JobOutcome & { cancelled: boolean };
