import { type SkipRun, XmlScanner } from './xml-scanner.ts';
import { MAX_TOKEN_BYTES, XmlSyntaxError, type XmlToken } from './xml-tokenizer.ts';

/** Namespaces of primary.xml. */
export const COMMON_NS = 'http://linux.duke.edu/metadata/common';
export const RPM_NS = 'http://linux.duke.edu/metadata/rpm';

/** What the yum plugin keeps of one `<package>`. */
export interface PrimaryPackage {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  checksum: string;
  checksumType: string;
  href: string;
  /** `xml:base` of the location, when given. */
  base: string | undefined;
  /** Build time, seconds since the epoch (0 when absent). */
  buildTime: number;
  fileTime: number;
  packager: string;
  url: string;
  summary: string;
  sizePackage: number;
  sizeInstalled: number;
  sizeArchive: number;
  sourceRpm: string;
}

/** What the reader reports when the document is done. */
export interface PrimarySummary {
  /** Every `<package>` in the document, read or skipped. */
  packages: number;
}

/** Options of a reader. */
export interface PrimaryReaderOptions {
  /** Return false to skip a package by name without reading the rest of it. */
  wantName(name: string): boolean;
  /**
   * What every name `wantName` accepts starts with, if anything: names that do not are skipped
   * on their bytes, without being decoded.
   */
  namePrefix?: string;
  /** Called for each package that was read in full. */
  onPackage(pkg: PrimaryPackage): void;
}

/** Start tags of `<package>` as createrepo_c writes them (read without tokenizing). */
const PACKAGE_TAGS = [Buffer.from('<package type="rpm">'), Buffer.from('<package>')];

type TextField = 'name' | 'arch' | 'checksum' | 'packager' | 'url' | 'summary' | 'sourceRpm';

const TEXT_FIELDS: Record<string, TextField> = {
  name: 'name',
  arch: 'arch',
  checksum: 'checksum',
  packager: 'packager',
  url: 'url',
  summary: 'summary',
};

/**
 * Streams primary.xml: push decompressed chunks as they arrive, then `finish()`. Memory stays
 * bounded by the largest single package; packages whose name the caller does not want are
 * stepped over with a byte search instead of being parsed.
 */
export class PrimaryReader {
  private readonly xml = new XmlScanner({ lenientPrefixes: { rpm: RPM_NS } });
  private readonly options: PrimaryReaderOptions;
  private count = 0;
  private pkg: PrimaryPackage | undefined;
  private packageQname = '';
  /** Element whose children we are skipping, when a skip waits for more input. */
  private skipping: string | undefined;
  /**
   * Depth to walk back out to, token by token, past an unknown element beside the packages:
   * such an element may nest one of its own name, which a skip to its first end tag would miss.
   */
  private walkOutTo: number | undefined;
  private textField: TextField | undefined;
  private text = '';
  private rootChecked = false;
  /** Just after an unprefixed `<package>`: try the `<name>` fast path. */
  private expectName = false;
  /** Inside an unprefixed root whose default namespace is primary's: try the `<package>` fast path. */
  private expectPackage = false;
  /** How unwanted packages are stepped over: by name, on its bytes first. */
  private readonly skipRun: SkipRun;

  constructor(options: PrimaryReaderOptions) {
    this.options = options;
    this.skipRun = {
      opens: PACKAGE_TAGS,
      first: 'name',
      prefix: Buffer.from(options.namePrefix ?? ''),
      skip: (name) => !options.wantName(name.trim()),
    };
  }

  /**
   * Adds a chunk of decompressed primary.xml; the chunk's memory is free again when this
   * returns (what is kept of it is copied). @throws XmlSyntaxError
   */
  push(chunk: Uint8Array): void {
    this.xml.feed(chunk);
    this.drain();
    this.xml.detach();
  }

  /** Ends the document. @throws XmlSyntaxError when it is incomplete or malformed. */
  finish(): PrimarySummary {
    this.xml.end();
    this.drain();
    return { packages: this.count };
  }

  private drain(): void {
    const { xml } = this;
    for (;;) {
      if (this.walkOutTo !== undefined) {
        const token = xml.next();
        if (token === null) return;
        if (token.kind === 'close' && xml.depth <= this.walkOutTo) this.walkOutTo = undefined;
        continue;
      }
      if (this.skipping !== undefined) {
        if (!xml.skipElement(this.skipping)) return;
        this.skipping = undefined;
        continue;
      }
      if (this.expectPackage && xml.depth === 1) {
        this.count += xml.skipRun('package', this.skipRun);
        const opened = xml.openLiteral('package', PACKAGE_TAGS);
        if (opened === null) return;
        if (opened) {
          this.startPackage({ qname: 'package', selfClosing: false });
          continue;
        }
      }
      if (this.expectName) {
        // Fast path: `<name>` comes first in every primary.xml createrepo_c writes.
        const name = xml.readSimpleElement('name');
        if (name === null) return;
        this.expectName = false;
        if (name !== undefined && this.pkg) {
          this.pkg.name = name.trim();
          if (!this.options.wantName(this.pkg.name)) {
            this.pkg = undefined;
            this.skipping = this.packageQname;
          }
          continue;
        }
      }
      const token = xml.next();
      if (token === null) return;
      this.handle(token);
    }
  }

  private handle(token: XmlToken): void {
    const depth = this.xml.depth;
    if (token.kind === 'text') {
      if (!this.textField) return;
      this.text += token.text;
      // Pieces split by comments or CDATA sections add up to one field, held whole.
      if (this.text.length > MAX_TOKEN_BYTES) {
        throw new XmlSyntaxError(
          `Text of a package's ${this.textField} longer than ${MAX_TOKEN_BYTES} characters`,
          this.xml.offset,
        );
      }
      return;
    }
    if (token.kind === 'open') {
      if (!this.rootChecked) {
        this.rootChecked = true;
        if (token.local !== 'metadata' || !isCommon(token.ns)) {
          throw new XmlSyntaxError(
            `Root element is <${token.qname}>, expected <metadata>`,
            this.xml.offset,
          );
        }
        this.expectPackage = !token.qname.includes(':') && !token.selfClosing;
        return;
      }
      const level = token.selfClosing ? depth + 1 : depth;
      if (level === 2) {
        if (token.local === 'package' && isCommon(token.ns)) this.startPackage(token);
        else if (!token.selfClosing) this.walkOutTo = depth - 1;
        return;
      }
      if (!this.pkg) return;
      if (level === 3) this.packageChild(token);
      else if (level === 4 && token.local === 'sourcerpm' && token.ns === RPM_NS) {
        this.beginText('sourceRpm', token);
      } else if (level === 4 && !token.selfClosing) {
        // Dependency and file lists: never needed, the bulk of the file.
        this.skipping = token.qname;
      }
      return;
    }
    // Close tags.
    if (this.textField && depth >= 2) {
      this.endText();
      if (this.pkg && this.textField === undefined && token.local === 'name' && depth === 2) {
        if (!this.options.wantName(this.pkg.name)) {
          this.pkg = undefined;
          this.skipping = this.packageQname;
        }
      }
      return;
    }
    if (depth === 1 && this.pkg) {
      const pkg = this.pkg;
      this.pkg = undefined;
      this.options.onPackage(pkg);
    }
  }

  private startPackage(token: { qname: string; selfClosing: boolean }): void {
    this.count++;
    if (token.selfClosing) return;
    this.packageQname = token.qname;
    this.pkg = emptyPackage();
    // Unprefixed `<name>` is in the package's namespace only when the package is unprefixed.
    this.expectName = !token.qname.includes(':');
  }

  private packageChild(token: Extract<XmlToken, { kind: 'open' }>): void {
    const pkg = this.pkg as PrimaryPackage;
    const { attrs } = token;
    if (!isCommon(token.ns)) {
      if (!token.selfClosing) this.skipping = token.qname;
      return;
    }
    switch (token.local) {
      case 'version':
        pkg.epoch = attrs.epoch || '0';
        pkg.version = attrs.ver ?? '';
        pkg.release = attrs.rel ?? '';
        return;
      case 'time':
        pkg.buildTime = toInt(attrs.build);
        pkg.fileTime = toInt(attrs.file);
        return;
      case 'size':
        pkg.sizePackage = toInt(attrs.package);
        pkg.sizeInstalled = toInt(attrs.installed);
        pkg.sizeArchive = toInt(attrs.archive);
        return;
      case 'location':
        pkg.href = attrs.href ?? '';
        pkg.base = attrs['xml:base'];
        return;
      case 'checksum':
        pkg.checksumType = (attrs.type ?? '').toLowerCase();
        this.beginText('checksum', token);
        return;
      case 'format':
        return;
      default: {
        const field = TEXT_FIELDS[token.local];
        if (field) this.beginText(field, token);
        else if (!token.selfClosing) this.skipping = token.qname;
      }
    }
  }

  private beginText(field: TextField, token: Extract<XmlToken, { kind: 'open' }>): void {
    if (token.selfClosing) return;
    this.textField = field;
    this.text = '';
  }

  private endText(): void {
    const field = this.textField;
    if (field && this.pkg) this.pkg[field] = this.text.trim();
    this.textField = undefined;
    this.text = '';
  }
}

function isCommon(ns: string): boolean {
  // Hand-written files sometimes omit the namespace declaration altogether.
  return ns === COMMON_NS || ns === '';
}

function toInt(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** A package with every field empty, filled in as its elements are read. */
export function emptyPackage(): PrimaryPackage {
  return {
    name: '',
    arch: '',
    epoch: '0',
    version: '',
    release: '',
    checksum: '',
    checksumType: '',
    href: '',
    base: undefined,
    buildTime: 0,
    fileTime: 0,
    packager: '',
    url: '',
    summary: '',
    sizePackage: 0,
    sizeInstalled: 0,
    sizeArchive: 0,
    sourceRpm: '',
  };
}
