import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FETCH_LIMIT,
  downloadCap,
  type FetchOrder,
  fetchDigest,
  fileNameOf,
  landingPath,
  landingProblem,
  mismatchLine,
  shownUrl,
} from './fetch-rules.ts';

const URL_ = 'https://repo.example.com/el9/Packages/app-1.0-1.noarch.rpm';

const order: FetchOrder = {
  material: 'internal/app',
  revision: 'app-1.0-1.noarch',
  url: URL_,
  file: 'app-1.0-1.noarch.rpm',
  checksum: { type: 'sha256', value: 'a'.repeat(64) },
  size: 100,
};

describe('agent/job/fetch-rules', () => {
  it('keeps to: inside the work folder', () => {
    expect(landingProblem('pkg/')).toBeNull();
    expect(landingProblem('pkg/app.rpm')).toBeNull();
    expect(landingProblem('./a/../b.rpm')).toBeNull();
    expect(landingProblem('.')).toBeNull();
    expect(landingProblem('/etc/app.rpm')).toMatch(/not an absolute path/);
    expect(landingProblem('..')).toMatch(/inside the job's work folder/);
    expect(landingProblem('a/../../b')).toMatch(/no '\.\.'/);
    expect(landingProblem('')).toMatch(/empty/);
    expect(landingProblem('a\0b')).toMatch(/NUL/);
  });

  it('lands the package under its own name, in a folder, or under the name given', () => {
    expect(landingPath(undefined, URL_)).toBe('app-1.0-1.noarch.rpm');
    expect(landingPath('pkg/', URL_)).toBe('pkg/app-1.0-1.noarch.rpm');
    expect(landingPath('.', URL_)).toBe('app-1.0-1.noarch.rpm');
    expect(landingPath('./deploy/app.rpm', URL_)).toBe('deploy/app.rpm');
    expect(landingPath(undefined, 'https://h/p/app%2B1.0.rpm')).toBe('app+1.0.rpm');
    expect(() => landingPath('../x', URL_)).toThrow(/to: must stay inside/);
  });

  it('refuses a URL that names no file, or a name that is a path', () => {
    expect(() => fileNameOf('https://h/p/')).toThrow(
      /names no file; give the file a name with to:/,
    );
    expect(() => fileNameOf('https://h/p/..%2F..%2Fetc')).toThrow(/names no file/);
    expect(() => fileNameOf('https://h/%E0%A4%A')).toThrow(/names no file/);
    expect(fileNameOf('file:///srv/repo/app.rpm')).toBe('app.rpm');
  });

  it('shows URLs without user info', () => {
    expect(shownUrl('https://ci:pw@h/app.rpm')).toBe('https://h/app.rpm');
    expect(shownUrl(URL_)).toBe(URL_);
  });

  it('knows the checksum types repositories record', () => {
    expect(fetchDigest('sha256')).toBe('sha256');
    expect(fetchDigest('SHA')).toBe('sha1');
    expect(fetchDigest('sha512')).toBe('sha512');
    expect(fetchDigest('md5')).toBe('md5');
    expect(fetchDigest('crc32')).toBeUndefined();
  });

  it('caps a download a little past the recorded size, else at 4 GiB', () => {
    expect(downloadCap(100)).toBe(100 + (1 << 20));
    expect(downloadCap(80 << 20)).toBe(90 << 20);
    expect(downloadCap(undefined)).toBe(DEFAULT_FETCH_LIMIT);
  });

  it('says in one line what does not match: material, expected and actual checksum and size', () => {
    expect(mismatchLine(order, { bytes: 100, digest: 'a'.repeat(64) })).toBeNull();
    const sum = mismatchLine(order, { bytes: 100, digest: 'b'.repeat(64) });
    expect(sum).toBe(
      `fetch internal/app: ${URL_} is not the package the run recorded (app-1.0-1.noarch): sha256 expected ${'a'.repeat(64)}, got ${'b'.repeat(64)}; 100 bytes as recorded; the download was deleted`,
    );
    const size = mismatchLine(order, { bytes: 99, digest: 'b'.repeat(64) });
    expect(size).toContain('size expected 100 bytes, got 99');
    expect(size).not.toContain('\n');
    const unsized = mismatchLine({ ...order, size: undefined }, { bytes: 7, digest: 'c' });
    expect(unsized).toContain('7 bytes (no size recorded)');
    // Only the size differs: the checksum is said to match.
    const onlySize = mismatchLine(order, { bytes: 101, digest: 'a'.repeat(64) });
    expect(onlySize).toContain(`sha256 ${'a'.repeat(64)} as recorded`);
  });
});
