import type { Revision } from 'hoist';
import { describe, expect, it } from 'vitest';
import type { RepositoryAccess } from '../../plugins/yum/fetch.ts';
import { fetchOrder, recordedChecksum } from './fetch-tasks.ts';

const SUM = 'ab'.repeat(32);

function yumRevision(data: Record<string, string> = {}): Revision {
  return {
    revision: 'app-1.0-1.noarch',
    timestamp: '2026-01-01T00:00:00.000Z',
    data: {
      LOCATION: 'https://repo.example.com/el9/Packages/app-1.0-1.noarch.rpm',
      CHECKSUM: SUM,
      CHECKSUM_TYPE: 'sha256',
      SIZE: '6100',
      ...data,
    },
  };
}

const yum = { plugin: 'yum', repositoryConfig: { REPO_URL: 'https://repo.example.com/el9' } };

const access: RepositoryAccess = {
  auth: { username: 'ci', password: 'repo-secret-1' },
  tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
  proxy: undefined,
  timeoutMs: 30_000,
  origins: new Set(['https://repo.example.com']),
};

describe('server/pipelines/fetch-tasks', () => {
  it('orders the recorded location, checksum and size, with credentials for its origin', () => {
    const packages = { 'internal/app': yumRevision() };
    expect(fetchOrder({ fetch: 'internal/app' }, packages, yum, access)).toEqual({
      material: 'internal/app',
      revision: 'app-1.0-1.noarch',
      url: 'https://repo.example.com/el9/Packages/app-1.0-1.noarch.rpm',
      file: 'app-1.0-1.noarch.rpm',
      checksum: { type: 'sha256', value: SUM },
      size: 6100,
      auth: { username: 'ci', password: 'repo-secret-1' },
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
      timeoutMs: 30_000,
    });
  });

  it('gives no credentials to a location on another origin (an xml:base mirror)', () => {
    const packages = {
      'internal/app': yumRevision({ LOCATION: 'https://mirror.example.org/app-1.0-1.noarch.rpm' }),
    };
    const order = fetchOrder({ fetch: 'internal/app', to: 'pkg/' }, packages, yum, access);
    expect(order).toMatchObject({ file: 'pkg/app-1.0-1.noarch.rpm', tls: { ca: 'CA PEM' } });
    expect(order).not.toHaveProperty('auth');
    expect(JSON.stringify(order)).not.toContain('KEY PEM');
  });

  it('never orders an unverified download: no checksum, an unknown type, no location', () => {
    const none = { 'internal/app': yumRevision({ CHECKSUM: '', CHECKSUM_TYPE: '' }) };
    expect(fetchOrder({ fetch: 'internal/app' }, none, yum, access)).toEqual({
      material: 'internal/app',
      refused:
        'revision app-1.0-1.noarch records no checksum; a package that cannot be verified is not fetched',
    });
    const crc = { 'internal/app': yumRevision({ CHECKSUM_TYPE: 'crc32' }) };
    expect(fetchOrder({ fetch: 'internal/app' }, crc, yum, access)).toMatchObject({
      refused: "revision app-1.0-1.noarch records an unsupported checksum type 'crc32'",
    });
    const nowhere = { 'internal/app': yumRevision({ LOCATION: '' }) };
    expect(fetchOrder({ fetch: 'internal/app' }, nowhere, yum, access)).toMatchObject({
      refused: 'revision app-1.0-1.noarch records no LOCATION to fetch it from',
    });
  });

  it('names what the run carries when it does not carry the package', () => {
    const packages = { 'internal/app': yumRevision() };
    expect(fetchOrder({ fetch: 'internal/lib' }, packages, undefined, undefined)).toEqual({
      material: 'internal/lib',
      refused: "the run carries no package 'internal/lib' (it carries internal/app)",
    });
  });

  it('reads file: locations only from a local repository, inside its folder', () => {
    const local = { plugin: 'yum', repositoryConfig: { REPO_URL: 'file:///srv/repo' } };
    const inside = { 'internal/app': yumRevision({ LOCATION: 'file:///srv/repo/app.rpm' }) };
    expect(fetchOrder({ fetch: 'internal/app' }, inside, local, undefined)).toMatchObject({
      url: 'file:///srv/repo/app.rpm',
      file: 'app.rpm',
    });
    const outside = { 'internal/app': yumRevision({ LOCATION: 'file:///etc/shadow' }) };
    expect(fetchOrder({ fetch: 'internal/app' }, outside, local, undefined)).toMatchObject({
      refused: expect.stringMatching(/outside the repository folder \/srv\/repo/),
    });
    expect(fetchOrder({ fetch: 'internal/app' }, outside, yum, access)).toMatchObject({
      refused: expect.stringMatching(/may name only http and https URLs/),
    });
  });

  it('reads the checksums apt and yum record, and the strongest of several', () => {
    expect(recordedChecksum({ CHECKSUM: 'AB', CHECKSUM_TYPE: 'SHA' })).toEqual({
      type: 'sha',
      value: 'ab',
    });
    expect(recordedChecksum({ SHA256: 'cd' })).toEqual({ type: 'sha256', value: 'cd' });
    expect(recordedChecksum({ SHA256: 'cd', SHA512: 'ef' })).toEqual({
      type: 'sha512',
      value: 'ef',
    });
    expect(recordedChecksum({ SIZE: '3' })).toBeUndefined();
  });

  it('keeps an unusable size out of the order (the download is then capped, not sized)', () => {
    for (const SIZE of ['0', '', 'x', '-1']) {
      const order = fetchOrder(
        { fetch: 'internal/app' },
        { 'internal/app': yumRevision({ SIZE }) },
        yum,
        undefined,
      );
      expect(order, SIZE).not.toHaveProperty('size');
    }
  });
});
