import { spawn } from 'node:child_process';
import {
  type Configuration,
  defineRepositoryPlugin,
  PluginError,
  type RepositoryPlugin,
  readConnectionAnswer,
  readPropertiesAnswer,
  readRevisionAnswer,
  readValidationAnswer,
  toGoCdConfigMap,
  toGoCdPreviousRevision,
} from 'hoist';
import { killProcessGroup } from '../../agent/process-group.ts';
import { createLineChannel } from './line-channel.ts';

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
  /** `process` (default): one process per message; `lines`: one long-lived process. */
  protocol?: 'process' | 'lines';
}): Promise<RepositoryPlugin> {
  const { id, executable, cwd } = options;
  const limits = {
    pluginId: id,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  const channel =
    options.protocol === 'lines' ? createLineChannel({ executable, cwd, ...limits }) : undefined;
  /** One message; the answer read by GoCD's rules, a bad answer a plugin error naming it. */
  const ask = async <T>(
    requestName: string,
    body: unknown,
    read: (answer: string) => T,
    signal?: AbortSignal,
  ): Promise<T> => {
    const answer = channel
      ? await channel.send(requestName, body, signal)
      : await sendMessage(executable, cwd, requestName, body, {
          ...limits,
          ...(signal ? { signal } : {}),
        });
    try {
      return read(answer);
    } catch (error) {
      const what = error instanceof SyntaxError ? 'with' : 'with an answer GoCD would refuse:';
      throw new PluginError(
        `Plugin '${id}' answered ${requestName} ${what} ${(error as Error).message}`,
        { pluginId: id },
      );
    }
  };
  const repositoryProperties = await ask('repository-configuration', undefined, (a) =>
    readPropertiesAnswer(a, 'Repository'),
  );
  const packageProperties = await ask('package-configuration', undefined, (a) =>
    readPropertiesAnswer(a, 'Package'),
  );
  const maps = (repo: Configuration, pkg?: Configuration) => ({
    'repository-configuration': toGoCdConfigMap(repo),
    ...(pkg ? { 'package-configuration': toGoCdConfigMap(pkg) } : {}),
  });
  return defineRepositoryPlugin({
    id,
    version: options.version,
    displayName: options.name ?? id,
    repositoryProperties,
    packageProperties,
    // GoCD sends the configured keys only; the plugin applies its own defaults.
    configuration: 'as-configured',
    validateRepository: (repo) =>
      ask('validate-repository-configuration', maps(repo), readValidationAnswer),
    validatePackage: (repo, pkg) =>
      ask('validate-package-configuration', maps(repo, pkg), readValidationAnswer),
    checkRepositoryConnection: (repo, ctx) =>
      ask('check-repository-connection', maps(repo), readConnectionAnswer, ctx.signal),
    checkPackageConnection: (repo, pkg, ctx) =>
      ask('check-package-connection', maps(repo, pkg), readConnectionAnswer, ctx.signal),
    latestRevision: (repo, pkg, ctx) =>
      ask('latest-revision', maps(repo, pkg), readRevisionAnswer, ctx.signal),
    latestRevisionsSince: async (repo, pkg, previous, ctx) => {
      const found = await ask(
        'latest-revision-since',
        { ...maps(repo, pkg), 'previous-revision': toGoCdPreviousRevision(previous) },
        readRevisionAnswer,
        ctx.signal,
      );
      return found ? [found] : [];
    },
  });
}
