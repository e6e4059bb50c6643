import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClient, saveLogin } from './client.ts';

const home = mkdtempSync(join(tmpdir(), 'hoist-client-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('cli/client resolveClient', () => {
  const secret = 'hotk-0123456789abcdef';

  it('takes a token with a trailing line break as the token alone', async () => {
    const env = { XDG_CONFIG_HOME: join(home, 'none'), HOIST_TOKEN: `${secret}\n` };
    expect((await resolveClient({}, env)).token).toBe(secret);
  });

  it('refuses a token with a line break inside, without echoing it', async () => {
    const env = { XDG_CONFIG_HOME: join(home, 'none'), HOIST_TOKEN: `${secret}\nin` };
    const refused = resolveClient({}, env);
    await expect(refused).rejects.toThrow(/^HOIST_TOKEN holds a space, line break/);
    await expect(refused).rejects.not.toThrow(secret);
  });

  it('names the login file when its token is broken', async () => {
    const env = { XDG_CONFIG_HOME: join(home, 'login') };
    const file = await saveLogin('http://127.0.0.1:1', `${secret} extra`, env);
    await expect(resolveClient({}, env)).rejects.toThrow(`the token in ${file} holds`);
  });
});
