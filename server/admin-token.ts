import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The admin token: `HOIST_ADMIN_TOKEN` when set, else the one in `<data>/admin-token`, generated
 * at first start with mode 0600.
 */
export async function loadAdminToken(
  dataDir: string,
  env = process.env,
): Promise<{ token: string; source: string }> {
  if (env.HOIST_ADMIN_TOKEN) return { token: env.HOIST_ADMIN_TOKEN, source: 'HOIST_ADMIN_TOKEN' };
  const file = join(dataDir, 'admin-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token) return { token, source: file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { token, source: file };
}
