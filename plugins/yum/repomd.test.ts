import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../../test/helpers/fixtures.ts';
import { parseRepomd } from './repomd.ts';
import { XmlTokenizer } from './xml-tokenizer.ts';

const repomd = (relative: string) =>
  parseRepomd(readFileSync(`${fixturePath(relative)}/repodata/repomd.xml`));

describe('plugins/yum/repomd', () => {
  it('reads the records createrepo_c writes', () => {
    const { revision, records } = repomd('osbuild/cs9-appstream-2025');
    expect(revision).toBe('9-stream');
    expect(records.get('primary')).toMatchObject({
      href: expect.stringMatching(/^repodata\/[0-9a-f]{64}-primary\.xml\.gz$/),
      checksum: { type: 'sha256', value: expect.stringMatching(/^[0-9a-f]{64}$/) },
      size: 3597627,
      openSize: 51840420,
    });
    expect(records.has('modules')).toBe(true);
  });

  it('is order-independent and tolerates old layouts (location first, sha1, no sizes)', () => {
    const xml = `<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary">
      <location href="repodata/p.xml.gz" xml:base="https://cdn.example.com/r/"/>
      <timestamp>1</timestamp><checksum type="SHA">ABCDEF</checksum></data>
      <revision>  42 </revision></repomd>`;
    const { revision, records } = parseRepomd(Buffer.from(xml));
    expect(revision).toBe('42');
    expect(records.get('primary')).toEqual({
      type: 'primary',
      href: 'repodata/p.xml.gz',
      base: 'https://cdn.example.com/r/',
      checksum: { type: 'sha', value: 'abcdef' },
      openChecksum: undefined,
      size: undefined,
      openSize: undefined,
      timestamp: 1,
    });
  });

  it('ignores unknown children (early zchunk layout) and records without a type', () => {
    expect(repomd('librepo/repo_yum_03').records.get('primary')?.href).toMatch(/primary\.xml\.gz$/);
    const odd = parseRepomd(
      readFileSync(`${fixturePath('createrepo_c/modified_repo_files')}/missing_type-repomd.xml`),
    );
    expect([...odd.records.keys()]).not.toContain('');
  });

  it('reads a repomd without XML declaration or rpm namespace (dnf5)', () => {
    expect(repomd('dnf5/repomd-repo1').records.get('primary')?.href).toBe('repodata/primary.xml');
  });

  it.each([
    [
      'an XXE',
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><repomd>&x;</repomd>',
      /DTDs\) are not allowed/,
    ],
    [
      'billion laughs',
      '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><repomd>&b;</repomd>',
      /DTDs\) are not allowed/,
    ],
    [
      'an HTML error page',
      '<html><body>Not here</body></html>',
      /Root element is <html>, expected <repomd>/,
    ],
    ['garbage', '\u0000\u0001binary', /Text outside the root element/],
  ])('refuses %s', (_what, xml, message) => {
    expect(() => parseRepomd(Buffer.from(xml))).toThrow(message);
  });

  it('reads 256 levels of nesting and refuses 257, and restores prefixes at each end tag', () => {
    const nested = (n: number) =>
      Buffer.from(
        `<repomd>${'<x>'.repeat(n - 1)}${'</x>'.repeat(n - 1)}<revision>7</revision></repomd>`,
      );
    expect(parseRepomd(nested(256)).revision).toBe('7');
    expect(() => parseRepomd(nested(257))).toThrow(
      /^Elements nested deeper than 256 levels at byte 773$/,
    );
    const xml = new XmlTokenizer();
    xml.feed(Buffer.from('<a xmlns:p="u1"><b xmlns:p="u2" xmlns="d"><p:c/><e/></b><p:f/><g/></a>'));
    xml.end();
    const names: string[] = [];
    for (let token = xml.next(); token; token = xml.next()) {
      if (token.kind === 'open') names.push(`${token.local}:${token.ns}`);
    }
    expect(names).toEqual(['a:', 'b:d', 'c:u2', 'e:d', 'f:u1', 'g:']);
  });
});
