import type { RunRow } from '../store/store.ts';

/** A pipeline and the pipelines it gets packages from. */
export interface Dependency {
  name: string;
  upstream: string[];
}

/**
 * Pipelines as a delivery board shows them: in groups of pipelines connected by their
 * dependencies (a group per delivery chain), each group upstream before downstream, ties and
 * groups in the order given. An upstream that is not among the pipelines is ignored; a cycle
 * (refused by the configuration) cannot loop.
 */
export function dependencyGroups(pipelines: readonly Dependency[]): string[][] {
  const known = new Map(pipelines.map((p) => [p.name, p]));
  const depth = depthsOf(pipelines);
  const group = new Map<string, number>();
  const neighbours = new Map<string, Set<string>>(pipelines.map((p) => [p.name, new Set()]));
  for (const p of pipelines)
    for (const u of p.upstream)
      if (known.has(u)) {
        neighbours.get(p.name)?.add(u);
        neighbours.get(u)?.add(p.name);
      }
  let next = 0;
  for (const p of pipelines) {
    if (group.has(p.name)) continue;
    const queue = [p.name];
    group.set(p.name, next);
    while (queue.length > 0) {
      for (const n of neighbours.get(queue.shift() as string) ?? [])
        if (!group.has(n)) {
          group.set(n, next);
          queue.push(n);
        }
    }
    next++;
  }
  const groups: string[][] = Array.from({ length: next }, () => []);
  const order = new Map(pipelines.map((p, i) => [p.name, i]));
  const sorted = [...pipelines].sort(
    (a, b) =>
      (depth.get(a.name) ?? 0) - (depth.get(b.name) ?? 0) ||
      (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0),
  );
  for (const p of sorted) groups[group.get(p.name) as number]?.push(p.name);
  return groups;
}

/** How far each pipeline is from the repositories: 0 without upstream pipelines. */
export function depthsOf(pipelines: readonly Dependency[]): Map<string, number> {
  const known = new Map(pipelines.map((p) => [p.name, p]));
  const depth = new Map<string, number>();
  const visit = (name: string, path: Set<string>): number => {
    const kept = depth.get(name);
    if (kept !== undefined) return kept;
    if (path.has(name)) return 0;
    path.add(name);
    const ups = (known.get(name)?.upstream ?? []).filter((u) => known.has(u));
    const d = ups.length === 0 ? 0 : 1 + Math.max(...ups.map((u) => visit(u, path)));
    path.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const p of pipelines) visit(p.name, new Set());
  return depth;
}

/** What the rollback rule reads of a run. */
export type RunPackages = Pick<RunRow, 'counter' | 'cause'>;

/**
 * The runs of one pipeline that rolled a package back: a run whose revision of a package differs
 * from the one the pipeline's run before carried, and that the pipeline had already run before
 * (it went back to it) or that was built before it (an older package). A rollback is a pinned
 * run; this reads it from the runs' records only.
 */
export function rollbacks(runs: readonly RunPackages[]): Set<number> {
  const found = new Set<number>();
  const seen = new Map<string, Set<string>>();
  const last = new Map<string, { label: string; timestamp: string }>();
  for (const run of [...runs].sort((a, b) => a.counter - b.counter)) {
    for (const [material, revision] of Object.entries(run.cause.packages)) {
      const before = last.get(material);
      const labels = seen.get(material) ?? new Set<string>();
      if (
        before &&
        before.label !== revision.revision &&
        (labels.has(revision.revision) || olderThan(revision.timestamp, before.timestamp))
      )
        found.add(run.counter);
      labels.add(revision.revision);
      seen.set(material, labels);
      last.set(material, { label: revision.revision, timestamp: revision.timestamp });
    }
  }
  return found;
}

function olderThan(a: string, b: string): boolean {
  const [x, y] = [Date.parse(a), Date.parse(b)];
  return Number.isFinite(x) && Number.isFinite(y) && x < y;
}

/** An edge of a value stream: from a package or run node to a run node. */
export interface StreamEdge {
  from: string;
  to: string;
}

/** The node id of a run, and of a package revision. */
export const runNode = (pipeline: string, counter: number) => `run:${pipeline}/${counter}`;
export const packageNode = (material: string, label: string) => `package:${material}@${label}`;

/**
 * Where each run of a value stream comes from: the upstream runs its cause names (one per
 * upstream material: fan-in gives several), and the package revisions it took from a
 * repository itself. Only edges whose source is among `present` nodes.
 */
export function streamEdges(
  runs: readonly Pick<RunRow, 'pipeline' | 'counter' | 'cause'>[],
  present: ReadonlySet<string>,
): StreamEdge[] {
  const edges: StreamEdge[] = [];
  for (const run of runs) {
    const to = runNode(run.pipeline, run.counter);
    for (const m of run.cause.materials) {
      const from =
        m.type === 'pipeline' ? upstreamNode(m.revision) : packageNode(m.material, m.revision);
      if (from && present.has(from) && !edges.some((e) => e.from === from && e.to === to))
        edges.push({ from, to });
    }
  }
  return edges;
}

/** `build/3/verify` (an upstream material's revision) as the node of run `build/3`. */
export function upstreamNode(revision: string): string | undefined {
  const match = /^(.+)\/(\d+)\/[^/]+$/.exec(revision);
  return match ? runNode(match[1] as string, Number(match[2])) : undefined;
}
