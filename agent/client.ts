import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

/** The server refused the agent's token (revoked or removed): the agent must stop. */
export class TokenRefusedError extends Error {}

/** The server could not be reached or answered with an error: try again later. */
export class ServerUnavailableError extends Error {}

/** What the agent needs of a connection to its server. */
export interface ClientOptions {
  /** The server's base URL (`https://hoist.example.com`). */
  server: string;
  /** A PEM file of the CA that signed the server's certificate (a private CA). */
  caFile?: string;
}

/**
 * JSON over HTTP(S) to the server, the agent always the client. TLS is verified (against `--ca`
 * when given). A 401 is `TokenRefusedError`; no answer or a 5xx is `ServerUnavailableError`.
 */
export class ServerClient {
  private readonly dispatcher: Agent;
  private readonly base: URL;
  token: string | undefined;

  constructor(options: ClientOptions) {
    this.base = new URL(options.server);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new Error(`--server must be an http or https URL, got '${options.server}'`);
    this.dispatcher = new Agent({
      connect: options.caFile ? { ca: readFileSync(options.caFile) } : {},
      keepAliveTimeout: 60_000,
      // The long poll waits up to its own limit; the body and headers may take that long.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** POSTs `body`; answers the parsed JSON, or undefined for a 204. */
  async post<T>(
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T | undefined> {
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    let answer: Awaited<ReturnType<typeof request>>;
    try {
      answer = await request(new URL(path, this.base), {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: {
          'content-type': 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      throw new ServerUnavailableError(`cannot reach ${this.base.origin}: ${reason(error)}`);
    }
    const text = await answer.body.text().catch(() => '');
    if (answer.statusCode === 204) return undefined;
    if (answer.statusCode === 401) throw new TokenRefusedError(messageOf(text) ?? 'HTTP 401');
    if (answer.statusCode >= 400) {
      const message = `${path}: HTTP ${answer.statusCode}: ${messageOf(text) ?? text.slice(0, 200)}`;
      if (answer.statusCode >= 500 || answer.statusCode === 429)
        throw new ServerUnavailableError(message);
      throw new Error(message);
    }
    return JSON.parse(text) as T;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function messageOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    return undefined;
  }
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return cause ?? (error instanceof Error ? error.message : String(error));
}
