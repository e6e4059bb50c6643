import { hideSecureVariables } from '../catalog/secure-variables.ts';
import { lockedView } from '../pipelines/locking.ts';
import type { TimerView } from '../pipelines/timers.ts';
import type { CheckRow, MaterialSummary, OverviewStore, PipelineText } from '../store/store.ts';
import type { Answer } from './answers.ts';
import { keptAnswers } from './answers.ts';
import { formatInterval } from './views.ts';

/** What the poller says of one material: when due, and whether a check runs now. */
export interface DueView {
  fingerprint: string;
  dueAt: number;
  running: boolean;
}

/** The answer of `/api/materials`, from the overview reads. */
export interface MaterialOverview {
  /**
   * Every material with its latest revision and its last `checks` checks. `due` is what this
   * instance's poller knows; `shared`: another instance may be checking, the store knows.
   */
  render(checks: number, due: readonly DueView[], shared: boolean): Promise<Answer>;
}

/** The answer of `/api/pipelines`. */
export interface PipelineOverview {
  render(): Promise<Answer>;
}

/** A material's history part as JSON text: cached until its newest check or revision changes. */
interface History {
  key: string;
  latestRevision: string;
  lastCheck: string;
  recentChecks: string;
}

/** How many `checks` values are kept cached at once (the dashboard asks for one). */
const CACHED_LIMITS = 4;
const j = JSON.stringify;

/**
 * The overviews dashboards poll. A material's history (its latest revision and recent checks)
 * is read and encoded once, and again only when its newest check or revision id changes, so that
 * an answer costs one indexed query over the materials whatever their history.
 */
export function createMaterialOverview(store: OverviewStore): MaterialOverview {
  const histories = new Map<number, Map<string, History>>();

  const historiesFor = async (summaries: MaterialSummary[], checks: number) => {
    let cache = histories.get(checks);
    if (!cache) {
      cache = new Map();
      histories.set(checks, cache);
      if (histories.size > CACHED_LIMITS) histories.delete(histories.keys().next().value as number);
    }
    const stale = summaries.filter((s) => cache.get(s.fingerprint)?.key !== historyKey(s));
    if (stale.length > 0) {
      const fingerprints = stale.map((s) => s.fingerprint);
      const [revisions, recent] = await Promise.all([
        store.latestRevisionsOf(fingerprints),
        checks > 0 ? store.recentChecksOf(fingerprints, checks) : Promise.resolve([]),
      ]);
      const revisionOf = new Map(revisions.map((r) => [r.fingerprint, r]));
      const checksOf = new Map<string, CheckRow[]>();
      for (const c of recent) {
        const list = checksOf.get(c.fingerprint);
        if (list) list.push(c);
        else checksOf.set(c.fingerprint, [c]);
      }
      for (const s of stale) {
        const list = checksOf.get(s.fingerprint) ?? [];
        cache.set(s.fingerprint, {
          key: historyKey(s),
          latestRevision: j(revisionOf.get(s.fingerprint) ?? null),
          lastCheck: j(list[0] ?? null),
          recentChecks: j(list),
        });
      }
    }
    if (cache.size > summaries.length) {
      const present = new Set(summaries.map((s) => s.fingerprint));
      for (const fingerprint of cache.keys())
        if (!present.has(fingerprint)) cache.delete(fingerprint);
    }
    return cache;
  };

  const answers = keptAnswers<number>(CACHED_LIMITS);
  const build = async (checks: number, due: readonly DueView[], shared: boolean) => {
    const summaries = await store.materialSummaries();
    const cache = await historiesFor(summaries, checks);
    const dueOf = new Map(due.map((d) => [d.fingerprint, d]));
    const parts = summaries.map((s) =>
      materialJson(s, cache.get(s.fingerprint) as History, dueOf.get(s.fingerprint), shared),
    );
    return `[${parts.join(',')}]`;
  };
  return {
    async render(checks, due, shared) {
      const mark = await store.changeMark();
      const key = mark === undefined ? undefined : `${mark}|${shared}|${dueKey(due)}`;
      return answers(checks, key, () => build(checks, due, shared));
    },
  };
}

/** What of the poller's schedule an answer shows: when each material is due, and if running. */
function dueKey(due: readonly DueView[]): string {
  let key = '';
  // Which materials are polled changes only with the store (and so with its change mark).
  for (const d of due) key += d.running ? `+${d.dueAt}` : `-${d.dueAt}`;
  return key;
}

/** The timers' part of `/api/pipelines`: each pipeline's next and last firing. */
export interface TimerViews {
  readonly version: number;
  view(name: string): TimerView;
}

/** `/api/pipelines`: one query when something changed, no definition decoded. */
export function createPipelineOverview(
  store: OverviewStore,
  timers?: TimerViews,
): PipelineOverview {
  const answers = keptAnswers<'all'>(1);
  return {
    async render() {
      const mark = await store.changeMark();
      return answers(
        'all',
        mark === undefined ? undefined : `${mark}|${timers?.version ?? 0}`,
        async () =>
          `[${(await store.pipelineTexts()).map((p) => pipelineJson(p, timers?.view(p.name))).join(',')}]`,
      );
    },
  };
}

/** What a material's cached history depends on. */
function historyKey(s: MaterialSummary): string {
  return `${s.lastCheckId ?? ''}:${s.lastRevisionId ?? ''}`;
}

/** One material of `/api/materials`, its fields in the order the API has always given them. */
export function materialJson(
  s: MaterialSummary,
  history: Pick<History, 'latestRevision' | 'lastCheck' | 'recentChecks'>,
  due: Omit<DueView, 'fingerprint'> | undefined,
  shared: boolean,
): string {
  const nextCheckAt =
    due && Number.isFinite(due.dueAt)
      ? new Date(due.dueAt).toISOString()
      : shared
        ? s.nextCheckAt
        : null;
  return [
    `{"fingerprint":${j(s.fingerprint)}`,
    `"repository":${j(s.repository)}`,
    `"package":${j(s.name)}`,
    `"plugin":${j(s.plugin)}`,
    `"pollInterval":${j(s.pollIntervalMs === null ? 'never' : formatInterval(s.pollIntervalMs))}`,
    `"latestRevision":${history.latestRevision}`,
    `"lastCheck":${history.lastCheck}`,
    // With shared polling another instance may be checking it: the store knows.
    `"checking":${(due?.running ?? false) || s.leaseOwner !== null}`,
    `"nextCheckAt":${j(nextCheckAt)}`,
    `"lastError":${j(s.lastError)}`,
    `"lastErrorCode":${j(s.lastErrorCode)}`,
    `"failures":${s.failures}`,
    `"recentChecks":${history.recentChecks}}`,
  ].join(',');
}

/**
 * One pipeline of `/api/pipelines`: its stored definition (the JSON text of an object) with
 * `paused` and `source` added, without decoding it. As with a spread, the added keys win.
 */
export function pipelineJson(p: PipelineText, timer: TimerView = {}): string {
  const body = withSecureVariablesHidden(p.definition.trim());
  if (!body.startsWith('{') || !body.endsWith('}'))
    throw new Error(`the stored definition of pipeline '${p.name}' is not a JSON object`);
  const inner = body.slice(1, -1).trim();
  const error = p.schedulingError ? `,"schedulingError":${j(p.schedulingError)}` : '';
  const timing = Object.entries(timer)
    .map(([k, v]) => `,${j(k)}:${j(v)}`)
    .join('');
  const held = lockedView(p.lock);
  const locked = held ? `,"locked":${j(held)}` : '';
  return `{${inner}${inner ? ',' : ''}"paused":${p.paused},"source":${j(p.source)}${error}${locked}${timing}}`;
}

/** A definition's text with its secure variables shown as `set` (decoded only when it has any). */
function withSecureVariablesHidden(text: string): string {
  if (!text.includes('"secureVariables"')) return text;
  return JSON.stringify(hideSecureVariables(JSON.parse(text)));
}
