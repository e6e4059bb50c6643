import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runHoist } from './helpers/cli.ts';

const fixture = (name: string) =>
  pathToFileURL(new URL(`../plugins/apt/__fixtures__/${name}`, import.meta.url).pathname).href;

describe('hoist check with the apt plugin (as a process)', () => {
  it('answers with --plugin apt and properties', async () => {
    const { code, stdout } = await runHoist([
      'check',
      '--plugin',
      'apt',
      '--repo',
      `REPO_URL=${fixture('archive')}`,
      '--repo',
      'DISTRIBUTION=stable',
      '--package',
      'PACKAGE=hello',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^hello_2\.10-3_amd64\n/);
    expect(stdout).toMatch(/location {2}file:.*\/pool\/main\/h\/hello\/hello_2\.10-3_amd64\.deb/);
    expect(stdout).toMatch(/checksum {2}sha256:5f2d9e4f/);
  });

  it('answers the apt+ shorthand, as JSON and with --since', async () => {
    const json = await runHoist(['check', `apt+${fixture('flat')}`, './', 'tool', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ revision: 'tool_1:1.0_all' });
    const since = await runHoist([
      'check',
      `apt+${fixture('archive')}`,
      'stable',
      'hello',
      '--since',
      'hello_2.10-2_amd64',
    ]);
    expect(since.stdout.split('\n').filter((l) => /^hello_/.test(l))).toEqual([
      'hello_2.10-3~bpo1_amd64',
      'hello_2.10-3_amd64',
    ]);
  });

  it('exits 3 when nothing matches and 2 on a bad shorthand', async () => {
    const none = await runHoist(['check', `apt+${fixture('archive')}`, 'stable', 'nothing']);
    expect(none.code).toBe(3);
    expect(none.stderr).toBe("hoist: no package matches 'nothing'\n");
    const bad = await runHoist(['check', `apt+${fixture('archive')}`, 'stable']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/apt\+<repo-url> <distribution> <package>/);
  });
});
