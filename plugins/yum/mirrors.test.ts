import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../../test/helpers/fixtures.ts';
import { parseMetalink, parseMirrorlist, trustedHashes } from './mirrors.ts';

const mirrors = (name: string) => readFileSync(`${fixturePath('librepo/mirrors')}/${name}`);

describe('plugins/yum/mirrors', () => {
  it('reads mirror lists as librepo does', () => {
    expect(parseMirrorlist(mirrors('mirrorlists/mirrorlist_01').toString())).toEqual([
      'http://foo.bar/fedora/linux/',
      'ftp://ftp.bar.foo/Fedora/17/',
    ]);
    expect(parseMirrorlist(mirrors('mirrorlists/mirrorlist_02').toString())).toEqual([]);
    expect(parseMirrorlist(mirrors('mirrorlists/mirrorlist_03').toString())).toEqual([]);
    expect(
      parseMirrorlist(readFileSync(`${fixturePath('librepo/repo_yum_02')}/mirrorlist`).toString()),
    ).toEqual(['http://127.0.0.1:5000/yum/static/01/']);
  });

  it('reads metalink hashes, alternates and http(s) mirrors by preference', () => {
    const good = parseMetalink(mirrors('metalinks/metalink_good_01'));
    expect(trustedHashes(good.hashes).map((h) => h.type)).toEqual(['sha512', 'sha256']);
    expect(good.mirrors.length).toBeGreaterThan(0);
    expect(good.mirrors.every((m) => /^https?:\/\//.test(m) && !m.endsWith('repomd.xml'))).toBe(
      true,
    );
    const alternates = parseMetalink(mirrors('metalinks/metalink_with_alternates'));
    expect(alternates.hashes.filter((h) => h.type === 'sha256').length).toBeGreaterThan(1);
  });

  it('refuses broken metalinks with a clear error', () => {
    for (const name of [
      'metalink_really_bad_01',
      'metalink_really_bad_02',
      'metalink_really_bad_03',
    ]) {
      let outcome: string;
      try {
        const parsed = parseMetalink(mirrors(`metalinks/${name}`));
        outcome =
          trustedHashes(parsed.hashes).length === 0 || parsed.mirrors.length === 0
            ? 'unusable'
            : 'usable';
      } catch (error) {
        outcome = (error as Error).message;
      }
      expect(outcome, name).not.toBe('usable');
    }
  });

  it('takes a metalink URL scheme from the URL, not from its protocol attribute', () => {
    const metalink = Buffer.from(`<?xml version="1.0"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
 <files><file name="repomd.xml"><resources>
  <url protocol="http" type="http" preference="100">file:///srv/local/repodata/repomd.xml</url>
  <url protocol="https" type="https" preference="90">https://m.example.com/el9/repodata/repomd.xml</url>
  <url protocol="http" type="http" preference="80">ftp://m.example.com/el9/repodata/repomd.xml</url>
 </resources></file></files></metalink>`);
    expect(parseMetalink(metalink).mirrors).toEqual([
      'file:///srv/local',
      'https://m.example.com/el9',
    ]);
  });
});
