import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('the built package', () => {
  it('resolves its own exports by name (self-reference) under plain Node', async () => {
    const script = `
      const core = await import('hoist');
      const yum = await import('hoist/yum');
      const apt = await import('hoist/apt');
      const testing = await import('hoist/testing');
      const server = await import('hoist/server');
      console.log(JSON.stringify({
        define: typeof core.defineRepositoryPlugin,
        host: typeof core.createPluginHost,
        yum: yum.yumPlugin.id,
        vercmp: yum.rpmvercmp('1.0~rc1', '1.0'),
        apt: apt.aptPlugin.id,
        dpkg: apt.compareVersionStrings('1:0.1', '2.0'),
        kit: typeof testing.assertPluginConformance,
        server: typeof server.createServer,
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    expect(JSON.parse(stdout)).toEqual({
      define: 'function',
      host: 'function',
      yum: 'yum',
      vercmp: -1,
      apt: 'apt',
      dpkg: 1,
      kit: 'function',
      server: 'function',
    });
  });
});
