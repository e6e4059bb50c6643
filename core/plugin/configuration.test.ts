import { describe, expect, it } from 'vitest';
import { samplePlugin } from '../../test/helpers/sample-plugin.ts';
import { secureValues, validateAgainstProperties, withDefaults } from './configuration.ts';

const plugin = samplePlugin();

describe('core/plugin/configuration', () => {
  it('returns every problem at once, each with its key', () => {
    const issues = validateAgainstProperties(plugin.repositoryProperties, {
      VERSIONS: '1',
      COLOUR: 'red',
      SIZE: 'xl',
      TOKEN: 42 as unknown as string,
    });
    expect(issues).toEqual([
      {
        key: '',
        message:
          'Unsupported key(s) found : COLOUR, SIZE. Allowed key(s) are : URL, VERSIONS, TOKEN',
      },
      { key: 'URL', message: 'URL is required' },
      { key: 'TOKEN', message: 'Token must be a string' },
    ]);
  });

  it('treats a blank required value as missing', () => {
    expect(validateAgainstProperties(plugin.repositoryProperties, { URL: '  ' })).toEqual([
      { key: 'URL', message: 'URL is required' },
    ]);
  });

  it('accepts a valid configuration', () => {
    expect(validateAgainstProperties(plugin.packageProperties, { NAME: 'app' })).toEqual([]);
  });

  it('fills defaults without overriding set values', () => {
    expect(withDefaults(plugin.packageProperties, { NAME: 'app' })).toEqual({
      NAME: 'app',
      CHANNEL: 'stable',
    });
    expect(withDefaults(plugin.packageProperties, { NAME: 'app', CHANNEL: 'beta' }).CHANNEL).toBe(
      'beta',
    );
  });

  it('lists secure values for masking', () => {
    expect(secureValues(plugin.repositoryProperties, { URL: 'u', TOKEN: 's3cret' })).toEqual([
      's3cret',
    ]);
  });
});
