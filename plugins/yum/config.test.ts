import { describe, expect, it } from 'vitest';
import { validatePackage, validateRepository } from './config.ts';

describe('plugins/yum/config', () => {
  it('words problems as GoCD does, all at once', () => {
    expect(validateRepository({ USERNAME: 'u' })).toEqual([
      { key: 'REPO_URL', message: 'Repository url not specified' },
      { key: 'PASSWORD', message: 'Both Username and password are required.' },
    ]);
    expect(validateRepository({ REPO_URL: 'https://u:p@repo/x' })).toEqual([
      {
        key: 'REPO_URL',
        message:
          'User info should not be provided as part of the URL. Please provide credentials using USERNAME and PASSWORD configuration keys.',
      },
    ]);
    expect(validateRepository({ REPO_URL: 'file:///srv/r', USERNAME: 'u', PASSWORD: 'p' })).toEqual(
      [{ key: 'REPO_URL', message: 'File protocol does not support username and/or password.' }],
    );
    expect(validateRepository({ REPO_URL: 'not a url' })).toEqual([
      { key: 'REPO_URL', message: 'Invalid URL : not a url' },
    ]);
  });

  it('checks TLS, proxy and timeout settings', () => {
    expect(
      validateRepository({
        REPO_URL: 'https://r',
        CLIENT_CERT: 'c',
        TLS_VERIFY: 'maybe',
        PROXY: 'socks5://p',
        TIMEOUT: '0',
      }).map((i) => i.key),
    ).toEqual(['CLIENT_KEY', 'TLS_VERIFY', 'PROXY', 'TIMEOUT']);
  });

  it('accepts a mirror list or metalink in place of REPO_URL', () => {
    expect(validateRepository({ METALINK: 'https://mirrors.example.com/metalink?repo=x' })).toEqual(
      [],
    );
    expect(validateRepository({ MIRRORLIST: 'https://mirrors.example.com/list' })).toEqual([]);
  });

  it('checks package settings', () => {
    expect(
      validatePackage(
        {},
        {
          PACKAGE_SPEC: 'app',
          ARCH: 'x86_64, no arch',
          INCLUDE_MODULAR: 'yes',
          VERSION_CONSTRAINT: 'bad',
        },
      ),
    ).toEqual([
      {
        key: 'ARCH',
        message:
          "Architectures must be a comma-separated list like 'x86_64,noarch'; not understood: 'no arch'",
      },
      {
        key: 'VERSION_CONSTRAINT',
        message: "Version constraint clause 'bad' is not understood: write e.g. '>= 2.0, < 3'",
      },
      { key: 'INCLUDE_MODULAR', message: "Include modular packages must be 'true' or 'false'" },
    ]);
    expect(
      validatePackage(
        {},
        { PACKAGE_SPEC: 'app', ARCH: 'x86_64,noarch', VERSION_CONSTRAINT: '>= 1' },
      ),
    ).toEqual([]);
  });
});
