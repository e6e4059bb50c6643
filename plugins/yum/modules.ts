/** Which packages module metadata hides, as dnf does when no stream is enabled by hand. */
export interface ModularFilter {
  /** NEVRAs (`name-epoch:version-release.arch`) that belong to non-default streams. */
  hidden: Set<string>;
  /** NEVRAs of default streams: visible. */
  visible: Set<string>;
  /** Names of packages in default streams: non-modular packages of these names are hidden. */
  defaultNames: Set<string>;
}

/**
 * Reads modules.yaml. dnf hides the artifacts of every module stream that is not enabled; with
 * nothing enabled by hand, the enabled streams are the default ones (from `modulemd-defaults`)
 * and, transitively, the single streams they require. Packages of enabled streams in turn hide
 * non-modular packages of the same name.
 */
export async function parseModules(text: string): Promise<ModularFilter> {
  // Loaded on demand: only repositories with module metadata need a YAML parser.
  const { parseAllDocuments } = await import('yaml');
  // failsafe: every scalar stays a string, so stream "10.10" is not read as the number 10.1.
  const documents = parseAllDocuments(text, { schema: 'failsafe' });
  const defaults = new Map<string, string>();
  const streams: {
    module: string;
    stream: string;
    rpms: string[];
    requires: Map<string, string[]>;
  }[] = [];
  for (const doc of Array.isArray(documents) ? documents : [documents]) {
    const value = doc.toJS() as Record<string, unknown> | null;
    const data = value?.data as Record<string, unknown> | undefined;
    if (!value || !data) continue;
    if (value.document === 'modulemd-defaults') {
      if (typeof data.module === 'string' && typeof data.stream === 'string') {
        defaults.set(data.module, data.stream);
      }
    } else if (value.document === 'modulemd') {
      const artifacts = data.artifacts as { rpms?: unknown } | undefined;
      const rpms = Array.isArray(artifacts?.rpms)
        ? artifacts.rpms.filter((r) => typeof r === 'string')
        : [];
      streams.push({
        module: String(data.name ?? ''),
        stream: String(data.stream ?? ''),
        rpms,
        requires: requiresOf(data.dependencies),
      });
    }
  }
  // Enable the default streams, then what they require, until nothing changes.
  const enabled = new Map(defaults);
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of streams) {
      if (enabled.get(s.module) !== s.stream) continue;
      for (const [module, wanted] of s.requires) {
        if (module === 'platform' || enabled.has(module) || wanted.length !== 1) continue;
        enabled.set(module, wanted[0] as string);
        changed = true;
      }
    }
  }
  const visible = new Set<string>();
  const defaultNames = new Set<string>();
  for (const s of streams) {
    if (enabled.get(s.module) !== s.stream) continue;
    for (const nevra of s.rpms) {
      visible.add(nevra);
      defaultNames.add(nevraName(nevra));
    }
  }
  const hidden = new Set<string>();
  for (const s of streams) {
    for (const nevra of s.rpms) if (!visible.has(nevra)) hidden.add(nevra);
  }
  return { hidden, visible, defaultNames };
}

function requiresOf(dependencies: unknown): Map<string, string[]> {
  const requires = new Map<string, string[]>();
  if (!Array.isArray(dependencies)) return requires;
  for (const dependency of dependencies) {
    const map = (dependency as { requires?: unknown } | null)?.requires;
    if (!map || typeof map !== 'object') continue;
    for (const [module, wanted] of Object.entries(map)) {
      const list = (Array.isArray(wanted) ? wanted : [wanted])
        .map(String)
        .filter((w) => !w.startsWith('-'));
      requires.set(module, list);
    }
  }
  return requires;
}

/** `name-epoch:version-release.arch` → name. */
function nevraName(nevra: string): string {
  const withoutEvr = nevra.replace(/-\d+:[^-]+-[^-]+$/, '');
  return withoutEvr;
}

/** Is this package visible under the filter? */
export function isVisible(
  filter: ModularFilter,
  pkg: { name: string; epoch: string; version: string; release: string; arch: string },
): boolean {
  const nevra = `${pkg.name}-${pkg.epoch || '0'}:${pkg.version}-${pkg.release}.${pkg.arch}`;
  if (filter.visible.has(nevra)) return true;
  if (filter.hidden.has(nevra)) return false;
  return !filter.defaultNames.has(pkg.name);
}
