import type { Configuration, HttpClient, Revision } from 'hoist';
import { createMemoryState, silentLogger } from 'hoist';
import { createHttpClient, type HostHttpClient } from '../../agent/http/http-client.ts';
import { type FetchSpec, fetchDigest, landingPath } from '../../agent/job/fetch-rules.ts';
import type { Task as RunnerTask } from '../../agent/job/runner.ts';
import { repositoryAccess } from '../../plugins/yum/access.ts';
import type { RepositoryAccess } from '../../plugins/yum/fetch.ts';
import { checkNamedUrl, localRoot, mayCarryCredentials } from '../../plugins/yum/trust.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { PipelineConfig } from '../config/schema.ts';

/** A task of a job's definition. */
type ConfigTask = PipelineConfig['stages'][number]['jobs'][number]['tasks'][number];

/** Where a material's package comes from: its repository's plugin and (opened) configuration. */
export interface FetchSource {
  plugin: string;
  repositoryConfig: Configuration;
}

/** Plugins whose repositories are reached with the shared transport properties (`access.ts`). */
const TRANSPORT_PLUGINS = new Set(['yum', 'apt']);

/** Checksum keys of revision data, strongest first, when no `CHECKSUM`/`CHECKSUM_TYPE` pair. */
const CHECKSUM_KEYS: [key: string, type: string][] = [
  ['SHA512', 'sha512'],
  ['SHA256', 'sha256'],
  ['SHA1', 'sha1'],
  ['MD5SUM', 'md5'],
  ['MD5', 'md5'],
];

/**
 * A job's tasks ready for its runner: when it has `fetch:` tasks, they are resolved (below) and
 * an HTTP client of the job's own comes with them, its transfers bounded by the job's time limit
 * (the caller closes it when the job ends).
 */
export async function prepareFetches(
  tasks: readonly ConfigTask[],
  packages: Readonly<Record<string, Revision>>,
  catalog: Pick<Catalog, 'polledPackages'>,
  timeoutMs: number,
): Promise<{ tasks: RunnerTask[]; secrets: string[]; http?: HostHttpClient }> {
  const commands = tasks.filter(
    (task): task is Exclude<ConfigTask, { fetch: string }> => !('fetch' in task),
  );
  if (commands.length === tasks.length) return { tasks: commands, secrets: [] };
  const http = createHttpClient({ transferTimeoutMs: timeoutMs });
  try {
    const sources = new Map(
      (await catalog.polledPackages()).map((p) => [
        `${p.repository}/${p.name}`,
        { plugin: p.plugin, repositoryConfig: p.repositoryConfig },
      ]),
    );
    const resolved = await resolveFetchTasks(tasks, packages, (m) => sources.get(m), http);
    return { ...resolved, http };
  } catch (error) {
    await http.close();
    throw error;
  }
}

/**
 * A job's tasks as its runner receives them: each `fetch:` resolved from the run's record into
 * plain JSON (URL, checksum, size, where it lands, and the repository's credentials when the URL
 * is on the repository's own origin), the rest as they are; and the values to mask.
 */
export async function resolveFetchTasks(
  tasks: readonly ConfigTask[],
  packages: Readonly<Record<string, Revision>>,
  sourceOf: (material: string) => FetchSource | undefined,
  http: HttpClient,
): Promise<{ tasks: RunnerTask[]; secrets: string[] }> {
  const secrets: string[] = [];
  const resolved: RunnerTask[] = [];
  for (const task of tasks) {
    if (!('fetch' in task)) {
      resolved.push(task);
      continue;
    }
    const source = sourceOf(task.fetch);
    let access: RepositoryAccess | undefined;
    let problem: string | undefined;
    if (source && TRANSPORT_PLUGINS.has(source.plugin)) {
      try {
        access = await repositoryAccess(source.repositoryConfig, context(http));
      } catch (error) {
        problem = `cannot read the repository's access settings: ${(error as Error).message}`;
      }
    }
    const fetch: FetchSpec = problem
      ? { material: task.fetch, refused: problem }
      : fetchOrder(task, packages, source, access);
    if ('auth' in fetch && fetch.auth) secrets.push(fetch.auth.password);
    if ('tls' in fetch && fetch.tls?.key) secrets.push(fetch.tls.key);
    if ('tls' in fetch && fetch.tls?.cert) secrets.push(fetch.tls.cert);
    if ('proxy' in fetch && fetch.proxy) secrets.push(fetch.proxy);
    resolved.push({ fetch, ...(task.runIf ? { runIf: task.runIf } : {}) });
  }
  return { tasks: resolved, secrets };
}

/**
 * A fetch task resolved from the run's record (pure): what to download, the checksum and size
 * it must have, where it lands; or why none can be ordered (no such package in the run, no
 * location, no checksum: nothing is ever downloaded unverified).
 */
export function fetchOrder(
  task: { fetch: string; to?: string | undefined },
  packages: Readonly<Record<string, Revision>>,
  source: FetchSource | undefined,
  access: RepositoryAccess | undefined,
): FetchSpec {
  const material = task.fetch;
  const refuse = (refused: string): FetchSpec => ({ material, refused });
  const revision = packages[material];
  if (!revision) {
    const carried = Object.keys(packages).sort();
    return refuse(
      `the run carries no package '${material}' (it carries ${carried.length > 0 ? carried.join(', ') : 'none'})`,
    );
  }
  const { data } = revision;
  const url = data.LOCATION;
  if (!url) return refuse(`revision ${revision.revision} records no LOCATION to fetch it from`);
  const checksum = recordedChecksum(data);
  if (!checksum)
    return refuse(
      `revision ${revision.revision} records no checksum; a package that cannot be verified is not fetched`,
    );
  if (!fetchDigest(checksum.type))
    return refuse(
      `revision ${revision.revision} records an unsupported checksum type '${checksum.type}'`,
    );
  const urlProblem = locationProblem(url, source?.repositoryConfig.REPO_URL);
  if (urlProblem) return refuse(urlProblem);
  let file: string;
  try {
    file = landingPath(task.to, url);
  } catch (error) {
    return refuse((error as Error).message);
  }
  const size = recordedSize(data.SIZE);
  return {
    material,
    revision: revision.revision,
    url,
    file,
    checksum,
    ...(size === undefined ? {} : { size }),
    ...transport(url, access),
  };
}

/** The checksum a revision records: `CHECKSUM` with `CHECKSUM_TYPE` (yum), else `SHA256` (apt)… */
export function recordedChecksum(
  data: Readonly<Record<string, string>>,
): { type: string; value: string } | undefined {
  if (data.CHECKSUM && data.CHECKSUM_TYPE)
    return { type: data.CHECKSUM_TYPE.toLowerCase(), value: data.CHECKSUM.toLowerCase() };
  for (const [key, type] of CHECKSUM_KEYS) {
    const value = data[key];
    if (value) return { type, value: value.toLowerCase() };
  }
  return undefined;
}

/** A recorded size in bytes: a positive whole number, else not recorded. */
function recordedSize(text: string | undefined): number | undefined {
  if (!text || !/^\d+$/.test(text)) return undefined;
  const size = Number(text);
  return size > 0 && Number.isSafeInteger(size) ? size : undefined;
}

/**
 * Why a location may not be fetched, as the yum plugin decides what metadata may name: http and
 * https anywhere; a `file:` URL only from a local (`file:`) repository, inside its folder.
 */
function locationProblem(url: string, repoUrl: string | undefined): string | undefined {
  try {
    checkNamedUrl(url, url, repoUrl ?? url, repoUrl ? localRoot(repoUrl) : undefined);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The repository's TLS, proxy and patience; credentials only for its configured origins. */
function transport(url: string, access: RepositoryAccess | undefined) {
  if (!access) return {};
  const trusted = mayCarryCredentials(url, access.origins);
  let tls = access.tls;
  if (tls && !trusted) {
    const { cert: _cert, key: _key, ...rest } = tls;
    tls = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return {
    ...(access.auth && trusted ? { auth: access.auth } : {}),
    ...(tls ? { tls } : {}),
    ...(access.proxy ? { proxy: access.proxy } : {}),
    timeoutMs: access.timeoutMs,
  };
}

/** The context `repositoryAccess` reads PEM files through. */
function context(http: HttpClient) {
  return {
    http,
    logger: silentLogger,
    signal: new AbortController().signal,
    now: () => new Date(),
    state: createMemoryState(),
  };
}
