import { describe, expect, it } from 'vitest';
import { validatePackage, validateRepository } from './config.ts';

const keys = (issues: { key: string }[]) => issues.map((i) => i.key);

describe('apt configuration', () => {
  it('accepts a distribution and a flat repository', () => {
    expect(
      validateRepository({ REPO_URL: 'https://deb.example.org/debian', DISTRIBUTION: 'bookworm' }),
    ).toEqual([]);
    expect(
      validateRepository({ REPO_URL: 'file:///srv/repo', DISTRIBUTION: './', ARCH: 'amd64 all' }),
    ).toEqual([]);
  });

  it('names the field of each problem', () => {
    expect(keys(validateRepository({ REPO_URL: 'ftp://x', DISTRIBUTION: '../up' }))).toEqual([
      'REPO_URL',
      'DISTRIBUTION',
    ]);
    expect(
      keys(
        validateRepository({
          REPO_URL: 'https://x',
          DISTRIBUTION: 's',
          COMPONENTS: 'main ../x',
          ARCH: 'AMD64',
        }),
      ),
    ).toEqual(['COMPONENTS', 'ARCH']);
    expect(
      keys(validateRepository({ REPO_URL: 'https://x', DISTRIBUTION: 's', PASSWORD: 'p' })),
    ).toEqual(['USERNAME']);
  });

  it('checks the package name and the constraint', () => {
    expect(
      validatePackage({}, { PACKAGE: 'lib*-dev', VERSION_CONSTRAINT: '>= 2.0, << 3' }),
    ).toEqual([]);
    expect(keys(validatePackage({}, { PACKAGE: 'Foo' }))).toEqual(['PACKAGE']);
    expect(validatePackage({}, { PACKAGE: 'a', VERSION_CONSTRAINT: '> 1' })[0]?.message).toMatch(
      /deprecated/,
    );
  });
});
