/**
 * Package specs as GoCD's yum plugin (and yum/dnf) accept them: `name`, `name.arch`,
 * `name-ver`, `name-ver-rel`, `name-ver-rel.arch`, `name-epoch:ver-rel.arch` and
 * `epoch:name-ver-rel.arch`, each with shell globs (`*`, `?`, `[...]`).
 */

/** The identifying fields of a package. */
export interface Nevra {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

/** A parsed spec. */
export interface PackageSpec {
  readonly text: string;
  /** Does the package match any of the spec forms? */
  matches(pkg: Nevra): boolean;
  /**
   * Could a package with this name match? Cheap; lets the primary reader skip every other
   * package without parsing it.
   */
  nameMayMatch(name: string): boolean;
  /** What every name `nameMayMatch` accepts starts with ('' when names may start with anything). */
  readonly namePrefix: string;
  /** Does the spec itself ask for source packages (`….src`)? */
  readonly namesSourceArch: boolean;
}

const GLOB_CHARS = /[*?[]/;

/** Problems with a spec's syntax, or an empty list. */
export function specProblems(text: string): string[] {
  if (text.trim() === '') return ['Package spec is empty'];
  if (/\s/.test(text)) return ['Package spec must not contain white space'];
  if (text.includes(',')) return ['Package spec must name one package; commas are not allowed'];
  try {
    globToRegExp(text);
  } catch (error) {
    return [(error as Error).message];
  }
  return [];
}

/** Parses a spec; call `specProblems` first for user input. */
export function parsePackageSpec(text: string): PackageSpec {
  const pattern = globToRegExp(text);
  const literal = literalPrefix(text.replace(/^\d+:/, ''));
  const hasGlob = GLOB_CHARS.test(text);
  const exactNames = hasGlob ? undefined : candidateNames(text);
  return {
    text,
    namePrefix: exactNames ? commonPrefix([...exactNames]) : firstSegment(literal),
    namesSourceArch: /\.src$/.test(text),
    matches(pkg) {
      const { name, epoch, version, release, arch } = pkg;
      const e = epoch || '0';
      return (
        pattern.test(name) ||
        pattern.test(`${name}.${arch}`) ||
        pattern.test(`${name}-${version}`) ||
        pattern.test(`${name}-${version}-${release}`) ||
        pattern.test(`${name}-${version}-${release}.${arch}`) ||
        pattern.test(`${name}-${e}:${version}-${release}.${arch}`) ||
        pattern.test(`${e}:${name}-${version}-${release}.${arch}`)
      );
    },
    nameMayMatch(name) {
      if (exactNames) return exactNames.has(name);
      if (literal === '') return true;
      if (name.startsWith(literal)) return true;
      // The name may end inside the literal part, right before a `-` or `.` of the spec.
      const next = literal[name.length];
      return literal.startsWith(name) && (next === '-' || next === '.');
    },
  };
}

/** Without globs, the name is the spec or a prefix of it ending before a `-` or `.`. */
function candidateNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const source of [text, text.replace(/^\d+:/, '')]) {
    names.add(source);
    for (let i = 1; i < source.length; i++) {
      if (source[i] === '-' || source[i] === '.') names.add(source.slice(0, i));
    }
  }
  return names;
}

function commonPrefix(names: string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/** A name that matches a glob's literal start may also end before its first `-` or `.`. */
function firstSegment(literal: string): string {
  const cut = literal.search(/[-.]/);
  return cut === -1 ? literal : literal.slice(0, cut);
}

function literalPrefix(text: string): string {
  const match = GLOB_CHARS.exec(text);
  return match ? text.slice(0, match.index) : text;
}

/** fnmatch-style glob → anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) throw new Error(`Package spec '${glob}' has an unclosed '['`);
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
