import type { Digest } from './repomd.ts';
import { XmlTokenizer } from './xml-tokenizer.ts';

/**
 * Parses a plain mirror list as librepo does: one base URL a line; blank lines and `#`
 * comments skipped; a line is kept when it holds `://` or starts with `/`.
 */
export function parseMirrorlist(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .filter((line) => line.includes('://') || line.startsWith('/'))
    .map((line) => (line.startsWith('/') ? `file://${line}` : line));
}

/** What a metalink says of repomd.xml. */
export interface Metalink {
  /** Hashes of the current repomd.xml and of recent ones (`mm0:alternates`). */
  hashes: Digest[];
  /** Repository base URLs (http, https and file; no ftp or rsync), most preferred first. */
  mirrors: string[];
}

const REPOMD_SUFFIX = /\/?repodata\/repomd\.xml$/;

/** Parses a MirrorManager metalink (Metalink 3.0). @throws XmlSyntaxError */
export function parseMetalink(bytes: Uint8Array): Metalink {
  const xml = new XmlTokenizer({
    lenientPrefixes: { mm0: 'http://fedorahosted.org/mirrormanager' },
  });
  xml.feed(bytes);
  xml.end();
  const hashes: Digest[] = [];
  const urls: { url: string; preference: number }[] = [];
  let inRepomd = false;
  let fileDepth = 0;
  let field: 'hash' | 'url' | undefined;
  let attrs: Record<string, string> = {};
  let text = '';
  for (let token = xml.next(); token; token = xml.next()) {
    if (token.kind === 'open') {
      if (token.local === 'file' && !token.selfClosing) {
        inRepomd = token.attrs.name === 'repomd.xml';
        fileDepth = xml.depth;
      } else if (
        inRepomd &&
        (token.local === 'hash' || token.local === 'url') &&
        !token.selfClosing
      ) {
        field = token.local;
        attrs = token.attrs;
        text = '';
      }
    } else if (token.kind === 'text') {
      if (field) text += token.text;
    } else {
      if (field && (token.local === 'hash' || token.local === 'url')) {
        const value = text.trim();
        if (field === 'hash' && attrs.type) {
          hashes.push({ type: attrs.type.toLowerCase(), value: value.toLowerCase() });
        } else if (field === 'url') {
          // The URL's own scheme decides: a `protocol="http"` attribute does not make a
          // `file:` URL a web mirror. Local ones are kept for the caller to refuse.
          const protocol = (/^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1] ?? '').toLowerCase();
          if (protocol === 'http' || protocol === 'https' || protocol === 'file') {
            urls.push({
              url: value.replace(REPOMD_SUFFIX, ''),
              preference: Number(attrs.preference) || 0,
            });
          }
        }
        field = undefined;
      }
      if (token.local === 'file' && xml.depth === fileDepth - 1) inRepomd = false;
    }
  }
  urls.sort((a, b) => b.preference - a.preference);
  return { hashes, mirrors: urls.map((u) => u.url) };
}

/** Metalink hashes worth trusting, strongest first (libdnf trusts only sha512 and sha256). */
export function trustedHashes(hashes: Digest[]): Digest[] {
  const strong = hashes.filter((h) => h.type === 'sha512' || h.type === 'sha256');
  return strong.sort((a, b) => (a.type === b.type ? 0 : a.type === 'sha512' ? -1 : 1));
}
