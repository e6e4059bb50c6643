import { ParagraphSplitter, parseParagraph } from './deb822.ts';
import { type DebVersion, DebVersionError, parseDebVersion } from './version.ts';

/** One binary package of a Packages index: the fields Hoist reports. */
export interface AptPackage {
  name: string;
  version: string;
  arch: string;
  /** `Filename`: relative to the repository root. */
  filename: string;
  size: number;
  sha256: string;
  maintainer: string;
  source: string;
  section: string;
  /** First line of `Description`. */
  summary: string;
  homepage: string;
  /** The component whose index listed it ('' in a flat repository). */
  component: string;
}

/** Options of a reader. */
export interface PackagesReaderOptions {
  /** Cheap test on the name alone: paragraphs of other names are not parsed. */
  wantName(name: string): boolean;
  onPackage(pkg: AptPackage, version: DebVersion): void;
  /** A paragraph that lacks a field Hoist needs, or has a version dpkg refuses. */
  onSkipped?(name: string, why: string): void;
  component: string;
}

/**
 * Reads a Packages index as it streams (decompressed bytes in, packages out), parsing only the
 * paragraphs whose name may match.
 */
export class PackagesReader {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly splitter: ParagraphSplitter;
  /** Paragraphs seen (every package of the index). */
  count = 0;

  constructor(private readonly options: PackagesReaderOptions) {
    this.splitter = new ParagraphSplitter((text, line) => this.paragraph(text, line));
  }

  push(chunk: Uint8Array): void {
    this.splitter.push(this.decoder.decode(chunk, { stream: true }));
  }

  finish(): void {
    this.splitter.push(this.decoder.decode());
    this.splitter.finish();
  }

  private paragraph(text: string, line: number): void {
    this.count++;
    const name = quickName(text);
    if (name !== undefined && !this.options.wantName(name)) return;
    const fields = parseParagraph(text, line);
    const pkg = toPackage(fields, this.options.component);
    if (typeof pkg === 'string') {
      this.options.onSkipped?.(fields.get('package') ?? `paragraph at line ${line}`, pkg);
      return;
    }
    if (name === undefined && !this.options.wantName(pkg.name)) return;
    let version: DebVersion;
    try {
      version = parseDebVersion(pkg.version);
    } catch (error) {
      if (!(error instanceof DebVersionError)) throw error;
      this.options.onSkipped?.(pkg.name, error.message);
      return;
    }
    this.options.onPackage(pkg, version);
  }
}

/** The name of a paragraph that starts with `Package:`, as nearly all do, without parsing it. */
function quickName(text: string): string | undefined {
  if (!text.startsWith('Package:')) return undefined;
  const end = text.indexOf('\n');
  return text.slice(8, end < 0 ? undefined : end).trim();
}

/** The package of a paragraph, or why it is skipped. */
function toPackage(fields: Map<string, string>, component: string): AptPackage | string {
  const name = fields.get('package');
  const version = fields.get('version');
  const arch = fields.get('architecture');
  const filename = fields.get('filename');
  const missing = [
    ['Package', name],
    ['Version', version],
    ['Architecture', arch],
    ['Filename', filename],
  ]
    .filter(([, value]) => !value)
    .map(([field]) => field);
  if (missing.length > 0) return `no ${missing.join(', ')} field`;
  const size = Number(fields.get('size') ?? '');
  return {
    name: name as string,
    version: version as string,
    arch: arch as string,
    filename: filename as string,
    size: Number.isSafeInteger(size) ? size : 0,
    sha256: (fields.get('sha256') ?? '').toLowerCase(),
    maintainer: fields.get('maintainer') ?? '',
    source: (fields.get('source') ?? name ?? '').replace(/\s*\(.*\)\s*$/, ''),
    section: fields.get('section') ?? '',
    summary: (fields.get('description') ?? '').split('\n')[0]?.trim() ?? '',
    homepage: fields.get('homepage') ?? '',
    component,
  };
}
