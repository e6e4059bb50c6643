import type { ValidationIssue } from 'hoist';

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The references of a configuration that did not pass its schema, checked as far as they can be
 * read (unknown plugins, packages, upstream pipelines and stages), so that a file's problems are
 * all reported at once rather than one kind after another. Keys are the fields' paths. When the
 * schema passes, the catalog's plan checks the same with the same words.
 */
export function crossCheck(raw: unknown, pluginIds: readonly string[]): ValidationIssue[] {
  if (!isObject(raw)) return [];
  const issues: ValidationIssue[] = [];
  const packages = new Set<string>();
  for (const [i, repo] of list(raw.repositories).entries()) {
    if (!isObject(repo)) continue;
    const plugin = text(repo.plugin);
    if (plugin && !pluginIds.includes(plugin))
      issues.push({
        key: `repositories[${i}].plugin`,
        message: `no plugin '${plugin}'; known: ${pluginIds.join(', ')}`,
      });
    for (const pkg of list(repo.packages)) {
      const name = isObject(pkg) ? text(pkg.name) : undefined;
      if (name && text(repo.name)) packages.add(`${repo.name}/${name}`);
    }
  }
  const stages = new Map<string, Set<string>>();
  for (const pipeline of list(raw.pipelines)) {
    if (!isObject(pipeline) || !text(pipeline.name)) continue;
    stages.set(
      pipeline.name as string,
      new Set(
        list(pipeline.stages).flatMap((s) =>
          isObject(s) && text(s.name) ? [s.name as string] : [],
        ),
      ),
    );
  }
  for (const [i, pipeline] of list(raw.pipelines).entries()) {
    if (!isObject(pipeline)) continue;
    for (const [j, m] of list(pipeline.materials).entries()) {
      if (!isObject(m)) continue;
      const at = `pipelines[${i}].materials[${j}]`;
      const pkg = text(m.package);
      if (pkg && /^[^/]+\/[^/]+$/.test(pkg) && !packages.has(pkg))
        issues.push({ key: `${at}.package`, message: `no package '${pkg}'` });
      const upstream = text(m.pipeline);
      const stage = text(m.stage);
      if (!upstream) continue;
      const known = stages.get(upstream);
      if (!known) issues.push({ key: `${at}.pipeline`, message: `no pipeline '${upstream}'` });
      else if (stage && !known.has(stage))
        issues.push({
          key: `${at}.stage`,
          message: `pipeline '${upstream}' has no stage '${stage}'`,
        });
    }
  }
  return issues;
}
