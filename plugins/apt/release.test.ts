import { describe, expect, it } from 'vitest';
import { chooseIndex, isExpired, parseRelease, strongestHash } from './release.ts';

const RELEASE = `Origin: Debian
Suite: stable
Codename: bookworm
Date: Sat, 09 Nov 2024 10:00:00 UTC
Valid-Until: Sat, 16 Nov 2024 10:00:00 UTC
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib
MD5Sum:
 0123456789abcdef0123456789abcdef 1000 main/binary-amd64/Packages
SHA256:
 ${'a'.repeat(64)}  1000 main/binary-amd64/Packages
 ${'b'.repeat(64)}   300 main/binary-amd64/Packages.xz
 ${'c'.repeat(64)}   400 main/binary-amd64/Packages.gz
 ${'d'.repeat(64)}     0 contrib/binary-amd64/Packages
 ${'e'.repeat(64)}    20 contrib/binary-amd64/Packages.gz
`;

describe('Release files', () => {
  const release = parseRelease(RELEASE);

  it('reads the fields and the hash lists', () => {
    expect(release.codename).toBe('bookworm');
    expect(release.acquireByHash).toBe(true);
    expect(release.components).toEqual(['main', 'contrib']);
    expect(release.architectures).toEqual(['all', 'amd64', 'arm64']);
    const plain = release.files.get('main/binary-amd64/Packages');
    expect(plain?.size).toBe(1000);
    expect(plain?.hashes.get('md5sum')).toBe('0123456789abcdef0123456789abcdef');
    expect(strongestHash(plain!)?.value).toBe('a'.repeat(64));
  });

  it('prefers gz to xz (faster to read), and knows the plain size', () => {
    expect(chooseIndex(release, 'main/binary-amd64/Packages')).toMatchObject({
      path: 'main/binary-amd64/Packages.gz',
      openSize: 1000,
    });
    expect(chooseIndex(release, 'contrib/binary-amd64/Packages')?.path).toBe(
      'contrib/binary-amd64/Packages.gz',
    );
    expect(chooseIndex(release, 'main/binary-i386/Packages')).toBeUndefined();
  });

  it('knows when it has expired', () => {
    expect(isExpired(release, new Date('2024-11-10T00:00:00Z'))).toBe(false);
    expect(isExpired(release, new Date('2024-11-17T00:00:00Z'))).toBe(true);
  });

  it('refuses a malformed hash line', () => {
    expect(() => parseRelease('SHA256:\n zz 1 main/Packages\n')).toThrow(/malformed line/);
  });
});
