import { describe, expect, it } from 'vitest';
import {
  checkMirror,
  checkNamedUrl,
  configuredOrigins,
  localRoot,
  mayCarryCredentials,
  resolveNamed,
} from './trust.ts';

const REPOMD = 'https://repo.example.com/el9/repodata/repomd.xml';
const LOCAL = 'file:///srv/repo';
const LOCAL_REPOMD = 'file:///srv/repo/repodata/repomd.xml';

describe('plugins/yum/trust', () => {
  it('gives credentials to the configured origins only (scheme, host and port)', () => {
    const origins = configuredOrigins({
      REPO_URL: 'https://repo.example.com/el9',
      MIRRORLIST: 'https://mirrors.example.com:8443/list',
    });
    expect([...origins]).toEqual(['https://repo.example.com', 'https://mirrors.example.com:8443']);
    expect(mayCarryCredentials('https://repo.example.com:443/other/path', origins)).toBe(true);
    expect(mayCarryCredentials('https://mirrors.example.com:8443/list?x', origins)).toBe(true);
    expect(mayCarryCredentials('http://repo.example.com/el9', origins)).toBe(false);
    expect(mayCarryCredentials('https://repo.example.com:8443/el9', origins)).toBe(false);
    expect(mayCarryCredentials('https://cdn.example.com/el9', origins)).toBe(false);
    expect(mayCarryCredentials('https://repo.example.com.evil.test/el9', origins)).toBe(false);
    expect(mayCarryCredentials('file:///srv/repo', origins)).toBe(false);
    expect([...configuredOrigins({ REPO_URL: 'file:///srv/repo' })]).toEqual([]);
  });

  it('lets network metadata name http and https URLs anywhere, and nothing else', () => {
    const base = 'https://repo.example.com/el9';
    expect(resolveNamed('repodata/p.xml.gz', undefined, base, REPOMD)).toBe(
      'https://repo.example.com/el9/repodata/p.xml.gz',
    );
    expect(resolveNamed('p.xml.gz', 'http://cdn.example.com/x', base, REPOMD)).toBe(
      'http://cdn.example.com/x/p.xml.gz',
    );
    expect(() => resolveNamed('file:///etc/hoist/key', undefined, base, REPOMD)).toThrow(
      `${REPOMD} names file:///etc/hoist/key; metadata read over the network may name only http and https URLs`,
    );
    expect(() => resolveNamed('environ', 'file:///proc/self/', base, REPOMD)).toThrow(
      `${REPOMD} names environ under xml:base file:///proc/self/ (file:///proc/self/environ); metadata read over the network`,
    );
    expect(() => resolveNamed('ftp://x/y', undefined, base, REPOMD)).toThrow('names ftp://x/y;');
    expect(() => resolveNamed('data:,hello', undefined, base, REPOMD)).toThrow(
      'names data:,hello;',
    );
  });

  it('lets a local repository name files inside its own folder only', () => {
    expect(resolveNamed('repodata/p.xml.gz', undefined, LOCAL, LOCAL_REPOMD)).toBe(
      'file:///srv/repo/repodata/p.xml.gz',
    );
    expect(resolveNamed('https://cdn.example.com/p.xml.gz', undefined, LOCAL, LOCAL_REPOMD)).toBe(
      'https://cdn.example.com/p.xml.gz',
    );
    for (const href of [
      '../../etc/passwd',
      '/etc/passwd',
      'file:///etc/passwd',
      '%2e%2e/other/p.xml.gz',
      'file:///srv/repository-next/p.xml.gz',
    ]) {
      expect(() => resolveNamed(href, undefined, LOCAL, LOCAL_REPOMD), href).toThrow(
        'outside the repository folder /srv/repo/; refused',
      );
    }
    expect(() => resolveNamed('p.xml', 'file:///etc/', LOCAL, LOCAL_REPOMD)).toThrow(
      `${LOCAL_REPOMD} names p.xml under xml:base file:///etc/ (file:///etc/p.xml), outside`,
    );
    expect(localRoot('https://x/y')).toBeUndefined();
  });

  it('checks package locations with the same rule, naming the package href', () => {
    const primary = 'https://repo.example.com/el9/repodata/p.xml.gz';
    expect(() => checkNamedUrl('file:///etc/passwd', 'file:///etc/passwd', primary)).toThrow(
      `${primary} names file:///etc/passwd; metadata read over the network may name only http and https URLs`,
    );
    expect(checkNamedUrl('https://cdn.example.com/a.rpm', 'a.rpm', primary)).toBe(
      'https://cdn.example.com/a.rpm',
    );
  });

  it('refuses local mirrors from a list read over the network, not from a local list', () => {
    const list = 'https://mirrors.example.com/list';
    expect(checkMirror('https://m.example.com/el9', list)).toBe('https://m.example.com/el9');
    expect(() => checkMirror('file:///srv/repo', list)).toThrow(
      `${list} names file:///srv/repo; metadata read over the network may name only http and https URLs`,
    );
    expect(checkMirror('file:///srv/repo', 'file:///etc/yum/list')).toBe('file:///srv/repo');
  });
});
