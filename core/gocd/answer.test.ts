import { describe, expect, it } from 'vitest';
import { samplePlugin, sampleRevision } from '../../test/helpers/sample-plugin.ts';
import { createPluginHost } from '../host/plugin-host.ts';
import { createPluginRegistry } from '../host/registry.ts';
import { answerGoCdRequest } from './answer.ts';
import { fromGoCdRevision, toGoCdRevision } from './messages.ts';

const host = createPluginHost({
  registry: createPluginRegistry([samplePlugin()]),
  http: { request: () => Promise.reject(new Error('offline')) },
});
const ask = (name: string, body: unknown = '') =>
  answerGoCdRequest(host, 'sample', name, typeof body === 'string' ? body : JSON.stringify(body));
const repoMap = { URL: { value: 'https://repo.test' }, VERSIONS: { value: '1,2,3' } };
const pkgMap = { NAME: { value: 'app' } };

describe('core/gocd/answer', () => {
  it('repository-configuration: kebab-case keys, display-order as a string', async () => {
    const res = await ask('repository-configuration');
    expect(res.responseCode).toBe(200);
    expect(res.body).toBe(
      '{"URL":{"display-name":"URL","display-order":"0","secure":false,"part-of-identity":true,"required":true},' +
        '"VERSIONS":{"display-name":"Versions","display-order":"1","secure":false,"part-of-identity":false,"required":false},' +
        '"TOKEN":{"display-name":"Token","display-order":"2","secure":true,"part-of-identity":false,"required":false}}',
    );
  });

  it('package-configuration carries default values', async () => {
    const res = await ask('package-configuration');
    expect(JSON.parse(res.body)).toEqual({
      NAME: {
        'display-name': 'Package name',
        'display-order': '0',
        secure: false,
        'part-of-identity': true,
        required: true,
      },
      CHANNEL: {
        'display-name': 'CHANNEL',
        'display-order': '1',
        'default-value': 'stable',
        secure: false,
        'part-of-identity': true,
        required: false,
      },
    });
  });

  it('validate-repository-configuration: [] when valid, every problem otherwise', async () => {
    const valid = await ask('validate-repository-configuration', {
      'repository-configuration': repoMap,
    });
    expect(valid).toEqual({ responseCode: 200, body: '[]' });
    const invalid = await ask('validate-repository-configuration', {
      'repository-configuration': { URL: { value: 'ftp://x' }, RANDOM: { value: '1' } },
    });
    expect(JSON.parse(invalid.body)).toEqual([
      {
        key: '',
        message: 'Unsupported key(s) found : RANDOM. Allowed key(s) are : URL, VERSIONS, TOKEN',
      },
      { key: 'URL', message: 'URL must start with http:// or https://' },
    ]);
  });

  it('validate-package-configuration', async () => {
    const res = await ask('validate-package-configuration', {
      'repository-configuration': repoMap,
      'package-configuration': {},
    });
    expect(JSON.parse(res.body)).toEqual([{ key: 'NAME', message: 'Package name is required' }]);
  });

  it('check-repository-connection and check-package-connection', async () => {
    const repoCheck = await ask('check-repository-connection', {
      'repository-configuration': repoMap,
    });
    expect(JSON.parse(repoCheck.body)).toEqual({
      status: 'success',
      messages: ['Reached the sample repository'],
    });
    const pkgCheck = await ask('check-package-connection', {
      'repository-configuration': { URL: { value: 'https://r' } },
      'package-configuration': pkgMap,
    });
    expect(JSON.parse(pkgCheck.body)).toEqual({
      status: 'failure',
      messages: ['No version found'],
    });
  });

  it('latest-revision: GoCD revision JSON with a millisecond UTC timestamp', async () => {
    const res = await ask('latest-revision', {
      'repository-configuration': repoMap,
      'package-configuration': pkgMap,
    });
    expect(res.body).toBe(
      '{"revision":"app-3","timestamp":"2026-01-03T00:00:00.000Z","user":"builder","data":{"VERSION":"3","LOCATION":"https://repo.test/app-3.rpm"}}',
    );
  });

  it('latest-revision-since: the newest revision, or an empty body when nothing is new', async () => {
    const previous = (v: number) => {
      const r = sampleRevision(v);
      return { revision: r.revision, timestamp: r.timestamp, data: r.data };
    };
    const newer = await ask('latest-revision-since', {
      'repository-configuration': repoMap,
      'package-configuration': pkgMap,
      'previous-revision': previous(1),
    });
    expect(JSON.parse(newer.body).revision).toBe('app-3');
    const none = await ask('latest-revision-since', {
      'repository-configuration': repoMap,
      'package-configuration': pkgMap,
      'previous-revision': previous(3),
    });
    expect(none).toEqual({ responseCode: 200, body: '' });
  });

  it('answers 400 to unknown requests and malformed bodies, 500 to failed calls', async () => {
    expect(await ask('go.plugin-settings.get-configuration')).toEqual({
      responseCode: 400,
      body: 'Invalid request name go.plugin-settings.get-configuration',
    });
    expect((await ask('latest-revision', '{nope')).responseCode).toBe(400);
    const failed = await ask('latest-revision', { 'repository-configuration': {} });
    expect(failed.responseCode).toBe(500);
    expect(failed.body).toBe('URL: URL is required; NAME: Package name is required');
  });

  it("answers every failed connection check as GoCD's failure, never a 500", async () => {
    const failing = createPluginHost({
      registry: createPluginRegistry([
        samplePlugin({
          checkRepositoryConnection: async () => {
            throw new Error('Could not access file - /nowhere/repodata/repomd.xml');
          },
        }),
      ]),
      http: { request: () => Promise.reject(new Error('offline')) },
    });
    const res = await answerGoCdRequest(
      failing,
      'sample',
      'check-repository-connection',
      JSON.stringify({ 'repository-configuration': repoMap }),
    );
    expect(res.responseCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      status: 'failure',
      messages: [
        "Plugin 'sample' failed in checkRepositoryConnection: Could not access file - /nowhere/repodata/repomd.xml",
      ],
    });
  });

  it('round-trips revisions through the wire shape', () => {
    const revision = { ...sampleRevision(2), comment: 'rebuilt', trackbackUrl: 'https://ci/2' };
    const wire = toGoCdRevision(revision);
    expect(wire.revisionComment).toBe('rebuilt');
    expect(fromGoCdRevision(wire)).toEqual(revision);
  });
});
