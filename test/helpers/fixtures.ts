import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The shared folder beside the checkout (override with HOIST_SHARED). */
export const SHARED_DIR =
  process.env.HOIST_SHARED ?? fileURLToPath(new URL('../../../shared', import.meta.url));

/**
 * Path of a repodata fixture (a repository root) under shared/fixtures/repodata. Fails loudly
 * when shared/ is absent: these tests must never pass by skipping.
 */
export function fixturePath(relative: string): string {
  const path = `${SHARED_DIR}/fixtures/repodata/${relative}`;
  if (!existsSync(path)) {
    throw new Error(
      `Fixture ${relative} not found under ${SHARED_DIR}: these tests need ../shared (or HOIST_SHARED)`,
    );
  }
  return path;
}

/** file:// URL of a fixture repository. */
export function fixtureUrl(relative: string): string {
  return pathToFileURL(fixturePath(relative)).href;
}
