import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ErrorBody, Issue } from '../server/api/schemas/index.ts';

/** Exit codes of the operator commands, for scripts. */
export const CLIENT_EXIT = {
  ok: 0,
  /** The server is unreachable, or failed. */
  server: 1,
  /** Bad usage, or a request the server found invalid (400, 422). */
  usage: 2,
  /** No such pipeline, run, stage, job or repository (404). */
  notFound: 3,
  /** The token is missing, wrong (401) or not allowed (403). */
  refused: 4,
  /** The request conflicts with the current state (409), e.g. a stage not awaiting approval. */
  conflict: 5,
} as const;

/** An operator command's failure: one line, and its exit code. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The problems the server listed (a configuration it refused), if any. */
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
  }
}

/** Where `hoist login` keeps the server and token (mode 0600). */
export function loginFile(env = process.env): string {
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'hoist', 'login.json');
}

/** Saves a login, readable by its owner only. */
export async function saveLogin(server: string, token: string, env = process.env): Promise<string> {
  const file = loginFile(env);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify({ server, token })}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

/** The server and token to use: flags, then HOIST_SERVER / HOIST_TOKEN, then the login file. */
export async function resolveClient(
  options: { server?: string },
  env = process.env,
): Promise<{ server: string; token: string }> {
  let login: { server?: string; token?: string } = {};
  const file = loginFile(env);
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new ClientError(
        `${file} is readable by others; run: chmod 600 ${file}`,
        CLIENT_EXIT.usage,
      );
    }
    login = JSON.parse(await readFile(file, 'utf8')) as typeof login;
  } catch (error) {
    if (error instanceof ClientError) throw error;
  }
  const server = options.server ?? env.HOIST_SERVER ?? login.server ?? 'http://127.0.0.1:8153';
  const from = env.HOIST_TOKEN !== undefined ? 'HOIST_TOKEN' : `the token in ${file}`;
  const token = (env.HOIST_TOKEN ?? login.token)?.trim();
  if (!token)
    throw new ClientError('no token: set HOIST_TOKEN or run hoist login', CLIENT_EXIT.refused);
  // A pasted line break or space would go out as a broken header, echoing the token in the error.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ClientError(
      `${from} holds a space, line break or other character a token cannot have: give the token alone`,
      CLIENT_EXIT.usage,
    );
  }
  return { server, token };
}

/** Calls the API; maps failures to one-line errors with stable exit codes. */
export async function call<T>(
  client: { server: string; token: string },
  method: string,
  path: string,
  body?: unknown,
  /** Sends `body` as this text type (e.g. `application/yaml`) instead of JSON. */
  textType?: string,
): Promise<T> {
  let response: Response;
  const type = textType ?? 'application/json';
  const payload = textType ? String(body) : JSON.stringify(body);
  try {
    response = await fetch(new URL(path, client.server), {
      method,
      headers: {
        authorization: `Bearer ${client.token}`,
        ...(body === undefined ? {} : { 'content-type': type }),
      },
      ...(body === undefined ? {} : { body: payload }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError(
      `cannot reach ${client.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      CLIENT_EXIT.server,
    );
  }
  const text = await response.text();
  if (response.ok) {
    const type = response.headers.get('content-type') ?? '';
    return (type.includes('json') ? JSON.parse(text) : text) as T;
  }
  let message = `HTTP ${response.status}`;
  let issues: Issue[] = [];
  try {
    const parsed = JSON.parse(text) as Partial<ErrorBody>;
    message = parsed.error?.message ?? message;
    issues = parsed.error?.issues ?? [];
    // Name the problems in the one line, unless the message does already.
    const listed = issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message));
    if (listed.length > 0 && !listed.every((l) => message.includes(l)))
      message += `: ${listed.join('; ')}`;
  } catch {
    // Not JSON: keep the status.
  }
  const code =
    response.status === 401 || response.status === 403
      ? CLIENT_EXIT.refused
      : response.status === 404
        ? CLIENT_EXIT.notFound
        : response.status === 409
          ? CLIENT_EXIT.conflict
          : response.status === 400 || response.status === 422
            ? CLIENT_EXIT.usage
            : CLIENT_EXIT.server;
  throw new ClientError(message, code, issues);
}

/** Left-aligned columns for people. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}
