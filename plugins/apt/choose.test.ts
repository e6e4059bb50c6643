import { describe, expect, it } from 'vitest';
import { type Candidate, previousVersion, selectStream, toRevision } from './choose.ts';
import type { AptPackage } from './packages.ts';
import { parseDebVersion } from './version.ts';

const pkg = (name: string, version: string, arch = 'amd64', component = 'main'): Candidate => ({
  pkg: {
    name,
    version,
    arch,
    filename: `pool/${component}/${name}_${version}_${arch}.deb`,
    size: 10,
    sha256: 'ab',
    maintainer: 'M <m@x>',
    source: name,
    section: 'utils',
    summary: 'S',
    homepage: '',
    component,
  } satisfies AptPackage,
  version: parseDebVersion(version),
});

const selection = (name: string, arches = ['amd64', 'arm64', 'all']) => ({
  name: new RegExp(`^${name.replace('*', '.*')}$`),
  arches,
  constraint: undefined,
});

const versions = (list: Candidate[]) =>
  list.map((c) => `${c.pkg.version}/${c.pkg.arch}/${c.pkg.component}`);

describe('choosing the stream apt would install from', () => {
  it('orders by dpkg, merging all into the native architecture', () => {
    const stream = selectStream(
      [pkg('a', '1.0'), pkg('a', '1:0.1', 'all'), pkg('a', '2.0', 'arm64'), pkg('a', '1.0~rc1')],
      selection('a'),
    );
    expect(versions(stream)).toEqual(['1.0~rc1/amd64/main', '1.0/amd64/main', '1:0.1/all/main']);
  });

  it('falls back to the first other architecture that has the name', () => {
    const stream = selectStream(
      [pkg('a', '1', 'arm64'), pkg('a', '2', 's390x')],
      selection('a', ['amd64', 's390x', 'arm64']),
    );
    expect(versions(stream)).toEqual(['2/s390x/main']);
  });

  it('keeps the first listed of a version seen twice', () => {
    const stream = selectStream(
      [pkg('a', '1', 'all', 'main'), pkg('a', '1', 'all', 'contrib')],
      selection('a'),
    );
    expect(versions(stream)).toEqual(['1/all/main']);
  });

  it('names the packages of an ambiguous pattern', () => {
    expect(() => selectStream([pkg('ab', '1'), pkg('ac', '1')], selection('a*'))).toThrow(
      /matches more than one package: ab, ac/,
    );
  });

  it('reads a previous revision from its data or its label', () => {
    expect(previousVersion({ revision: 'a_1:2.0-1_amd64', data: {} })).toEqual({
      epoch: 1,
      upstream: '2.0',
      revision: '1',
    });
    expect(previousVersion({ revision: 'x', data: { VERSION: '3' } }).upstream).toBe('3');
  });

  it('reports the revision with the data a job needs', () => {
    const revision = toRevision(
      pkg('a', '1.0-1').pkg,
      'https://r/debian',
      '2024-01-01T00:00:00.000Z',
    );
    expect(revision).toEqual({
      revision: 'a_1.0-1_amd64',
      timestamp: '2024-01-01T00:00:00.000Z',
      data: {
        NAME: 'a',
        VERSION: '1.0-1',
        ARCH: 'amd64',
        LOCATION: 'https://r/debian/pool/main/a_1.0-1_amd64.deb',
        SHA256: 'ab',
        SIZE: '10',
        MAINTAINER: 'M <m@x>',
        SOURCE: 'a',
        SECTION: 'utils',
      },
      user: 'M <m@x>',
      comment: 'S',
    });
  });
});
