import { describe, expect, it } from 'vitest';
import { samplePlugin, sampleRevision } from '../../test/helpers/sample-plugin.ts';
import {
  ConfigInvalidError,
  PluginError,
  PluginTimeoutError,
  RepositoryMetadataError,
} from '../errors.ts';
import type { HttpClient } from '../plugin/types.ts';
import { createMemoryState } from './memory-state.ts';
import { createPluginHost } from './plugin-host.ts';
import { createPluginRegistry, createReloadableRegistry } from './registry.ts';

const noHttp: HttpClient = {
  request: () => Promise.reject(new Error('no network in this test')),
};
const hostWith = (...plugins: ReturnType<typeof samplePlugin>[]) =>
  createPluginHost({ registry: createPluginRegistry(plugins), http: noHttp, timeoutMs: 200 });

const repo = { URL: 'https://repo.test', VERSIONS: '1,3,2' };
const pkg = { NAME: 'app' };

describe('core/host/plugin-host', () => {
  it('rejects duplicate plugin ids and unknown ids', () => {
    expect(() => createPluginRegistry([samplePlugin(), samplePlugin()])).toThrow(
      "Two plugins have the id 'sample'",
    );
    expect(() => hostWith(samplePlugin()).registry.get('nope')).toThrow(
      "No plugin with id 'nope'. Known plugins: sample",
    );
  });

  it('replaces a reloadable registry whole, or not at all', () => {
    const registry = createReloadableRegistry([samplePlugin()]);
    expect(registry.list().map((p) => p.id)).toEqual(['sample']);
    expect(() => registry.replace([samplePlugin(), samplePlugin()])).toThrow(
      "Two plugins have the id 'sample'",
    );
    expect(registry.has('sample')).toBe(true);
    registry.replace([]);
    expect(registry.has('sample')).toBe(false);
    expect(() => registry.get('sample')).toThrow("No plugin with id 'sample'");
  });

  it('refuses an object not made by defineRepositoryPlugin', () => {
    const raw = { ...samplePlugin(), apiVersion: 99 } as never;
    expect(() => createPluginRegistry([raw])).toThrow(/plugin API 99/);
  });

  it('answers latestRevision and latestRevisionsSince through the plugin', async () => {
    const host = hostWith(samplePlugin());
    expect(await host.latestRevision('sample', repo, pkg)).toEqual(sampleRevision(3));
    const since = await host.latestRevisionsSince('sample', repo, pkg, sampleRevision(1));
    expect(since.map((r) => r.revision)).toEqual(['app-2', 'app-3']);
    expect(await host.latestRevisionsSince('sample', repo, pkg, sampleRevision(3))).toEqual([]);
  });

  it('merges core and plugin validation, every problem at once', async () => {
    const host = hostWith(samplePlugin());
    expect(await host.validatePackage('sample', { URL: 'ftp://x', EXTRA: '1' }, {})).toEqual([
      {
        key: '',
        message: 'Unsupported key(s) found : EXTRA. Allowed key(s) are : URL, VERSIONS, TOKEN',
      },
      { key: 'URL', message: 'URL must start with http:// or https://' },
      { key: 'NAME', message: 'Package name is required' },
    ]);
  });

  it("makes core's checks before a poll, and leaves the plugin's validation to saving", async () => {
    const calls: string[] = [];
    const host = hostWith(
      samplePlugin({
        validateRepository: (r) => {
          calls.push('validateRepository');
          return r.URL?.startsWith('http') ? [] : [{ key: 'URL', message: 'bad' }];
        },
        latestRevision: async () => {
          calls.push('latestRevision');
          return null;
        },
      }),
    );
    const error = await host.latestRevision('sample', {}, pkg).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.issues).toEqual([{ key: 'URL', message: 'URL is required' }]);
    expect(calls).toEqual([]);
    expect(await host.latestRevision('sample', { URL: 'ftp://x' }, pkg)).toBeNull();
    expect(calls).toEqual(['latestRevision']);
    const check = await host.checkRepositoryConnection('sample', {});
    expect(check.ok).toBe(false);
    expect(check.messages).toContain('URL: URL is required');
  });

  it('answers every failure of a connection check as a failed check, never by throwing', async () => {
    const host = hostWith(
      samplePlugin({
        checkRepositoryConnection: async () => {
          throw new TypeError('socket hang up');
        },
        checkPackageConnection: async () => ({ ok: 'yes' }) as never,
      }),
    );
    expect(await host.checkRepositoryConnection('sample', repo)).toEqual({
      ok: false,
      messages: ["Plugin 'sample' failed in checkRepositoryConnection: socket hang up"],
    });
    const check = await host.checkPackageConnection('sample', repo, pkg);
    expect(check.ok).toBe(false);
    expect(check.messages[0]).toMatch(/invalid result from checkPackageConnection/);
    await expect(host.checkRepositoryConnection('nope', repo)).rejects.toThrow(/nope/);
  });

  it("forwards the configured keys only to a plugin that asks for them 'as-configured'", async () => {
    const seen: Record<string, string>[] = [];
    const withDefault = (configuration: 'as-configured' | 'with-defaults') =>
      hostWith(
        samplePlugin({
          configuration,
          packageProperties: [
            { key: 'NAME' },
            { key: 'CHANNEL', required: false, defaultValue: 'stable' },
          ],
          latestRevision: async (_r, p) => {
            seen.push({ ...p });
            return null;
          },
        }),
      );
    await withDefault('as-configured').latestRevision('sample', repo, { NAME: 'app' });
    await withDefault('with-defaults').latestRevision('sample', repo, { NAME: 'app' });
    expect(seen).toEqual([{ NAME: 'app' }, { NAME: 'app', CHANNEL: 'stable' }]);
  });

  it('wraps a throwing plugin in a PluginError tagged with its id', async () => {
    const host = hostWith(
      samplePlugin({
        latestRevision: () => {
          throw new TypeError('boom\n    at somewhere');
        },
      }),
    );
    const error = await host.latestRevision('sample', repo, pkg).catch((e) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error.code).toBe('ERR_PLUGIN_FAILED');
    expect(error.pluginId).toBe('sample');
    expect(error.message).toBe("Plugin 'sample' failed in latestRevision: boom");
  });

  it('keeps Hoist errors a plugin throws, adding the plugin id', async () => {
    const host = hostWith(
      samplePlugin({
        latestRevision: async () => {
          throw new RepositoryMetadataError('primary.xml: unexpected end');
        },
      }),
    );
    const error = await host.latestRevision('sample', repo, pkg).catch((e) => e);
    expect(error).toBeInstanceOf(RepositoryMetadataError);
    expect(error.pluginId).toBe('sample');
  });

  it('tells its hooks of every call as it ends, with the error code of a failed one', async () => {
    const events: unknown[] = [];
    const host = createPluginHost({
      registry: createPluginRegistry([
        samplePlugin({
          latestRevisionsSince: async () => {
            throw new RepositoryMetadataError('primary.xml: unexpected end');
          },
        }),
      ]),
      http: noHttp,
      hooks: {
        callEnded: (event) => {
          events.push({ ...event, seconds: typeof event.seconds });
          throw new Error('a broken hook changes nothing');
        },
      },
    });
    expect((await host.latestRevision('sample', repo, pkg))?.revision).toBe('app-3');
    await expect(
      host.latestRevisionsSince('sample', repo, pkg, sampleRevision(1)),
    ).rejects.toBeInstanceOf(RepositoryMetadataError);
    // The plugin's own validation is a call too.
    expect(events.filter((e) => !(e as { call: string }).call.startsWith('validate'))).toEqual([
      { pluginId: 'sample', call: 'latestRevision', seconds: 'number', errorCode: null },
      {
        pluginId: 'sample',
        call: 'latestRevisionsSince',
        seconds: 'number',
        errorCode: 'ERR_REPOSITORY_METADATA',
      },
    ]);
  });

  it('times a hanging plugin out and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const host = hostWith(
      samplePlugin({
        latestRevision: (_r, _p, ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      }),
    );
    const started = Date.now();
    const error = await host
      .latestRevision('sample', repo, pkg, { timeoutMs: 100 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(PluginTimeoutError);
    expect(error.message).toBe("Plugin 'sample' did not answer latestRevision within 100 ms");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(signal?.aborted).toBe(true);
  });

  it('passes the caller abort to the plugin', async () => {
    const controller = new AbortController();
    const host = hostWith(
      samplePlugin({
        latestRevision: (_r, _p, ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      }),
    );
    const pending = host.latestRevision('sample', repo, pkg, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow("Call to plugin 'sample' (latestRevision) was cancelled");
  });

  it('rejects results that break the contract', async () => {
    const host = hostWith(
      samplePlugin({
        latestRevision: async () => ({ ...sampleRevision(1), data: { 'BAD KEY': 'x' } }),
        latestRevisionsSince: async () => 'nope' as never,
      }),
    );
    await expect(host.latestRevision('sample', repo, pkg)).rejects.toThrow(
      "Plugin 'sample' returned an invalid result from latestRevision at data.BAD KEY: data keys may contain only letters, digits, '_' and '-'",
    );
    const clash = hostWith(
      samplePlugin({
        latestRevision: async () => ({ ...sampleRevision(1), data: { 'A-B': 'x', A_B: 'y' } }),
      }),
    );
    await expect(clash.latestRevision('sample', repo, pkg)).rejects.toThrow(
      "data keys 'A-B' and 'A_B' would be the same job variable (A_B)",
    );
    // GoCD's documented example answers the data key DATA-THREE.
    const gocd = hostWith(
      samplePlugin({
        latestRevision: async () => ({ ...sampleRevision(1), data: { 'DATA-THREE': 'x' } }),
      }),
    );
    expect((await gocd.latestRevision('sample', repo, pkg))?.data).toEqual({ 'DATA-THREE': 'x' });
    await expect(
      host.latestRevisionsSince('sample', repo, pkg, sampleRevision(1)),
    ).rejects.toBeInstanceOf(PluginError);
  });

  it('looks one revision up by label when the plugin can, and holds it to the label asked', async () => {
    const plain = hostWith(samplePlugin());
    expect(plain.canLookUpRevisions('sample')).toBe(false);
    await expect(plain.revisionByLabel('sample', repo, pkg, 'app-1')).rejects.toThrow(
      "Plugin 'sample' cannot look up a revision by its label",
    );
    const host = hostWith(
      samplePlugin({
        revisionByLabel: async (_r, _p, label) =>
          label === 'app-1' ? sampleRevision(1) : label === 'liar' ? sampleRevision(2) : null,
      }),
    );
    expect(host.canLookUpRevisions('sample')).toBe(true);
    expect(await host.revisionByLabel('sample', repo, pkg, 'app-1')).toEqual(sampleRevision(1));
    expect(await host.revisionByLabel('sample', repo, pkg, 'app-9')).toBeNull();
    await expect(host.revisionByLabel('sample', repo, pkg, 'liar')).rejects.toThrow(
      "Plugin 'sample' answered revisionByLabel('liar') with 'app-2'",
    );
  });

  it('gives each call the material state it is handed', async () => {
    const state = createMemoryState();
    const host = hostWith(
      samplePlugin({
        latestRevision: async (_r, _p, ctx) => {
          ctx.state.set('calls', Number(ctx.state.get('calls') ?? 0) + 1);
          return null;
        },
      }),
    );
    await host.latestRevision('sample', repo, pkg, { state });
    await host.latestRevision('sample', repo, pkg, { state });
    expect(state.snapshot()).toEqual({ calls: 2 });
  });
});
