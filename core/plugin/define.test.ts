import { describe, expect, it } from 'vitest';
import { samplePlugin } from '../../test/helpers/sample-plugin.ts';
import { PluginDefinitionError } from '../errors.ts';
import { defineRepositoryPlugin } from './define.ts';

describe('core/plugin/define', () => {
  it('applies GoCD property defaults and sorts by display order', () => {
    const plugin = samplePlugin();
    expect(plugin.apiVersion).toBe(1);
    expect(plugin.repositoryProperties.map((p) => p.key)).toEqual(['URL', 'VERSIONS', 'TOKEN']);
    const [url, versions, token] = plugin.repositoryProperties;
    expect(url).toMatchObject({ required: true, partOfIdentity: true, secure: false });
    expect(versions).toMatchObject({ required: false, partOfIdentity: false });
    expect(token).toMatchObject({ secure: true, partOfIdentity: false });
    expect(plugin.packageProperties[1]).toMatchObject({
      key: 'CHANNEL',
      displayName: 'CHANNEL',
      defaultValue: 'stable',
    });
    expect(Object.isFrozen(plugin)).toBe(true);
  });

  it("accepts GoCD's property keys, '-' included (key-one)", () => {
    const plugin = samplePlugin({ repositoryProperties: [{ key: 'key-one' }, { key: 'key_2' }] });
    expect(plugin.repositoryProperties.map((p) => p.key)).toEqual(['key-one', 'key_2']);
  });

  it('sorts properties by an explicit display order', () => {
    const plugin = samplePlugin({
      repositoryProperties: [
        { key: 'B', displayOrder: 2 },
        { key: 'A', displayOrder: 1 },
      ],
    });
    expect(plugin.repositoryProperties.map((p) => p.key)).toEqual(['A', 'B']);
  });

  it.each([
    [{ id: 'Bad_Id' }, /invalid id 'Bad_Id'/],
    [{ version: '' }, /version is missing/],
    [{ latestRevision: undefined }, /latestRevision must be a function/],
    [{ repositoryProperties: [{ key: 'A' }, { key: 'A' }] }, /'A' is declared twice/],
    [{ packageProperties: [{ key: 'BAD KEY' }] }, /invalid key/],
    [
      { packageProperties: [{ key: 'key-one' }, { key: 'KEY_ONE' }] },
      /'key-one' and 'KEY_ONE' would be the same job variable/,
    ],
  ])('rejects a bad definition %#', (override, message) => {
    const base = samplePlugin();
    expect(() => defineRepositoryPlugin({ ...base, ...(override as object) } as never)).toThrow(
      message,
    );
    expect(() => defineRepositoryPlugin({ ...base, ...(override as object) } as never)).toThrow(
      PluginDefinitionError,
    );
  });
});
