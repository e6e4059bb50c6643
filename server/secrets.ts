import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Seals secure property values for storage (AES-256-GCM) and opens them again. */
export interface SecretBox {
  seal(plain: string): string;
  /** @throws Error when the value was sealed with another key or tampered with. */
  open(sealed: string): string;
}

const PREFIX = 'v1:';

/** A box over a 32-byte key. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed value');
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

/**
 * The key: `HOIST_SECRET_KEY` when set (any string; hashed to 32 bytes), else `<data>/secret-key`,
 * generated at first start with mode 0600.
 */
export async function loadSecretBox(dataDir: string, env = process.env): Promise<SecretBox> {
  if (env.HOIST_SECRET_KEY) {
    return createSecretBox(createHash('sha256').update(env.HOIST_SECRET_KEY).digest());
  }
  const file = join(dataDir, 'secret-key');
  try {
    const text = (await readFile(file, 'utf8')).trim();
    const key = Buffer.from(text, 'base64');
    if (key.length === 32) return createSecretBox(key);
    throw new Error(`${file} does not hold a 32-byte base64 key`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return createSecretBox(key);
}
