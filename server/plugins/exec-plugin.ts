import { spawn } from 'node:child_process';
import {
  type Configuration,
  defineRepositoryPlugin,
  fromGoCdRevision,
  type GoCdProperty,
  type GoCdRevision,
  PluginError,
  type PropertyInput,
  type RepositoryPlugin,
  toGoCdConfigMap,
  toGoCdPreviousRevision,
} from 'hoist';
import { killProcessGroup } from '../process-group.ts';

/** Limits of one plugin process. */
const MAX_OUTPUT = 16 << 20;
const DEFAULT_TIMEOUT_MS = 120_000;

/** Sends one GoCD message to an executable plugin: request name as argument, body on stdin. */
export function sendMessage(
  executable: string,
  cwd: string,
  requestName: string,
  body: unknown,
  options: { timeoutMs?: number; signal?: AbortSignal; pluginId: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [requestName], {
      cwd,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    const kill = (why: string) => {
      failure ??= why;
      killProcessGroup(child);
    };
    const timer = setTimeout(
      () =>
        kill(
          `did not answer ${requestName} within ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`,
        ),
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    const onAbort = () => kill('the call was cancelled');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (stdout.length > MAX_OUTPUT) kill(`answered more than ${MAX_OUTPUT} bytes`);
    });
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(body === undefined ? '' : JSON.stringify(body));
    const fail = (message: string) =>
      reject(
        new PluginError(`Plugin '${options.pluginId}' ${message}${lastLines(stderr)}`, {
          pluginId: options.pluginId,
        }),
      );
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(`could not start ${executable}: ${error.message}`);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) return fail(failure);
      if (code !== 0) return fail(`exited with code ${code} on ${requestName}`);
      resolve(stdout);
    });
  });
}

/**
 * The last line the plugin wrote to stderr, as one line: for a Python traceback or a Node
 * stack, that is the error itself (`RuntimeError: index exploded`), not the frames above it.
 */
function lastLines(stderr: string): string {
  const last = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1)
    ?.trim();
  return last ? ` (stderr: ${last.slice(0, 300)})` : '';
}

function parse(text: string, requestName: string, pluginId: string, allowEmpty: boolean): unknown {
  if (text.trim() === '') {
    if (allowEmpty) return undefined;
    throw new PluginError(`Plugin '${pluginId}' answered ${requestName} with nothing`, {
      pluginId,
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new PluginError(
      `Plugin '${pluginId}' answered ${requestName} with invalid JSON: ${text.slice(0, 80)}`,
      { pluginId },
    );
  }
}

function toProperties(wire: unknown, what: string, pluginId: string): PropertyInput[] {
  if (!wire || typeof wire !== 'object' || Array.isArray(wire)) {
    throw new PluginError(
      `Plugin '${pluginId}' answered ${what} with something that is not a map of properties`,
      { pluginId },
    );
  }
  return Object.entries(wire as Record<string, GoCdProperty>).map(([key, p]) => ({
    key,
    displayName: p['display-name'] || key,
    displayOrder: Number.parseInt(String(p['display-order'] ?? '0'), 10) || 0,
    required: p.required ?? true,
    secure: p.secure ?? false,
    partOfIdentity: p['part-of-identity'] ?? true,
    ...(p['default-value'] === undefined ? {} : { defaultValue: p['default-value'] }),
  }));
}

/**
 * Wraps an executable that speaks GoCD's `package-repository` messages as a Hoist plugin. Its
 * configuration schemas are asked for once, here. GoCD's `latest-revision-since` names one
 * revision, so such plugins report only the newest revision since the previous one.
 */
export async function loadExecPlugin(options: {
  id: string;
  version: string;
  name?: string;
  executable: string;
  cwd: string;
  timeoutMs?: number;
}): Promise<RepositoryPlugin> {
  const { id, executable, cwd } = options;
  const ask = async (
    requestName: string,
    body: unknown,
    allowEmpty: boolean,
    signal?: AbortSignal,
  ) =>
    parse(
      await sendMessage(executable, cwd, requestName, body, {
        pluginId: id,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(signal ? { signal } : {}),
      }),
      requestName,
      id,
      allowEmpty,
    );
  const repositoryProperties = toProperties(
    await ask('repository-configuration', undefined, false),
    'repository-configuration',
    id,
  );
  const packageProperties = toProperties(
    await ask('package-configuration', undefined, false),
    'package-configuration',
    id,
  );
  const maps = (repo: Configuration, pkg?: Configuration) => ({
    'repository-configuration': toGoCdConfigMap(repo),
    ...(pkg ? { 'package-configuration': toGoCdConfigMap(pkg) } : {}),
  });
  const issues = (value: unknown) =>
    (Array.isArray(value) ? (value as { key?: string; message?: string }[]) : []).map((i) => ({
      key: i.key ?? '',
      message: String(i.message ?? ''),
    }));
  const connection = (value: unknown) => {
    const v = (value ?? {}) as { status?: string; messages?: string[] };
    return {
      ok: String(v.status).toLowerCase() === 'success',
      messages: Array.isArray(v.messages) ? v.messages.map(String) : [],
    };
  };
  const revision = (value: unknown) => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'object' && Object.keys(value as object).length === 0) return null;
    return fromGoCdRevision(value as GoCdRevision);
  };
  return defineRepositoryPlugin({
    id,
    version: options.version,
    displayName: options.name ?? id,
    repositoryProperties,
    packageProperties,
    validateRepository: async (repo) =>
      issues(await ask('validate-repository-configuration', maps(repo), true)),
    validatePackage: async (repo, pkg) =>
      issues(await ask('validate-package-configuration', maps(repo, pkg), true)),
    checkRepositoryConnection: async (repo, ctx) =>
      connection(await ask('check-repository-connection', maps(repo), false, ctx.signal)),
    checkPackageConnection: async (repo, pkg, ctx) =>
      connection(await ask('check-package-connection', maps(repo, pkg), false, ctx.signal)),
    latestRevision: async (repo, pkg, ctx) =>
      revision(await ask('latest-revision', maps(repo, pkg), true, ctx.signal)),
    latestRevisionsSince: async (repo, pkg, previous, ctx) => {
      const found = revision(
        await ask(
          'latest-revision-since',
          { ...maps(repo, pkg), 'previous-revision': toGoCdPreviousRevision(previous) },
          true,
          ctx.signal,
        ),
      );
      return found ? [found] : [];
    },
  });
}
