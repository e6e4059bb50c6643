import { MAX_TOKEN_BYTES, XmlSyntaxError, XmlTokenizer } from './xml-tokenizer.ts';

/** A `checksum`-like element: algorithm and hex digest. */
export interface Digest {
  /** Lower-cased algorithm name (`sha256`; `sha` is sha1). */
  type: string;
  value: string;
}

/** One `<data>` record of repomd.xml. */
export interface RepomdRecord {
  type: string;
  href: string;
  base: string | undefined;
  checksum: Digest | undefined;
  openChecksum: Digest | undefined;
  size: number | undefined;
  openSize: number | undefined;
  timestamp: number | undefined;
}

/** What the yum plugin reads of repomd.xml. */
export interface Repomd {
  revision: string;
  records: Map<string, RepomdRecord>;
}

/**
 * Parses repomd.xml, order-independently and ignoring unknown elements (zchunk layouts, tags,
 * content hashes). Throws XmlSyntaxError (with a message naming what is wrong) on bad input.
 */
export function parseRepomd(bytes: Uint8Array): Repomd {
  const xml = new XmlTokenizer({ lenientPrefixes: { rpm: 'http://linux.duke.edu/metadata/rpm' } });
  xml.feed(bytes);
  xml.end();
  const records = new Map<string, RepomdRecord>();
  let revision = '';
  let root = '';
  let record: RepomdRecord | undefined;
  let field = '';
  let text = '';
  let digestType = '';
  for (let token = xml.next(); token; token = xml.next()) {
    const depth = xml.depth;
    if (token.kind === 'open') {
      const level = token.selfClosing ? depth + 1 : depth;
      if (level === 1) {
        root = token.local;
        if (root !== 'repomd') {
          throw new XmlSyntaxError(
            `Root element is <${token.qname}>, expected <repomd>`,
            xml.offset,
          );
        }
      } else if (level === 2 && token.local === 'data') {
        record = {
          type: token.attrs.type ?? '',
          href: '',
          base: undefined,
          checksum: undefined,
          openChecksum: undefined,
          size: undefined,
          openSize: undefined,
          timestamp: undefined,
        };
        if (token.selfClosing) record = undefined;
      } else if (level === 2 && token.local === 'revision') {
        field = 'revision';
        text = '';
      } else if (level === 3 && record) {
        if (token.local === 'location') {
          record.href = token.attrs.href ?? '';
          record.base = token.attrs['xml:base'];
        } else {
          field = token.local;
          text = '';
          digestType = (token.attrs.type ?? '').toLowerCase();
        }
      }
      continue;
    }
    if (token.kind === 'text') {
      if (!field) continue;
      text += token.text;
      // Pieces split by comments or CDATA sections add up to one value, held whole.
      if (text.length > MAX_TOKEN_BYTES) {
        throw new XmlSyntaxError(
          `Text of <${field}> longer than ${MAX_TOKEN_BYTES} characters`,
          xml.offset,
        );
      }
      continue;
    }
    // close
    if (depth === 1 && token.local === 'data' && record) {
      // A record without a type is only a warning for createrepo_c: skip it.
      if (record.type) records.set(record.type, record);
      record = undefined;
    } else if (depth === 1 && field === 'revision') {
      revision = text.trim();
    } else if (depth === 2 && record && field) {
      const value = text.trim();
      switch (field) {
        case 'checksum':
          record.checksum = { type: digestType, value: value.toLowerCase() };
          break;
        case 'open-checksum':
          record.openChecksum = { type: digestType, value: value.toLowerCase() };
          break;
        case 'size':
          record.size = toSize(value);
          break;
        case 'open-size':
          record.openSize = toSize(value);
          break;
        case 'timestamp':
          record.timestamp = toSize(value);
          break;
      }
    }
    if (depth <= 2) field = '';
  }
  return { revision, records };
}

function toSize(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}
