import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAdminToken } from './admin-token.ts';
import { createSecretBox, loadSecretBox } from './secrets.ts';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'hoist-secrets-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('server/secrets and server/admin-token', () => {
  it('seals with AES-256-GCM: different every time, opens back, refuses tampering and other keys', async () => {
    const box = await loadSecretBox(dir(), {});
    const a = box.seal('p@ssword');
    const b = box.seal('p@ssword');
    expect(a).not.toBe(b);
    expect(a).not.toContain('p@ssword');
    expect(box.open(a)).toBe('p@ssword');
    const tampered = `${a.slice(0, -4)}${a.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(() => box.open(tampered)).toThrow();
    expect(() => createSecretBox(Buffer.alloc(32, 1)).open(a)).toThrow();
  });

  it('keeps the generated key in a 0600 file and reuses it; HOIST_SECRET_KEY wins', async () => {
    const d = dir();
    const first = await loadSecretBox(d, {});
    expect((statSync(join(d, 'secret-key')).mode & 0o777).toString(8)).toBe('600');
    const again = await loadSecretBox(d, {});
    expect(again.open(first.seal('x'))).toBe('x');
    const fromEnv = await loadSecretBox(d, { HOIST_SECRET_KEY: 'a long passphrase' });
    expect(() => fromEnv.open(first.seal('x'))).toThrow();
  });

  it('generates the admin token into a 0600 file when HOIST_ADMIN_TOKEN is not set', async () => {
    const d = dir();
    const generated = await loadAdminToken(d, {});
    expect(generated.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect((statSync(join(d, 'admin-token')).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(join(d, 'admin-token'), 'utf8').trim()).toBe(generated.token);
    expect((await loadAdminToken(d, {})).token).toBe(generated.token);
    expect((await loadAdminToken(d, { HOIST_ADMIN_TOKEN: 'from-env-0123456789' })).token).toBe(
      'from-env-0123456789',
    );
  });
});
