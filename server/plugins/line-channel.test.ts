import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLineChannel, endLinePlugins } from './line-channel.ts';

const dir = mkdtempSync(join(tmpdir(), 'hoist-line-channel-'));
afterAll(async () => {
  await endLinePlugins();
  rmSync(dir, { recursive: true, force: true });
});

describe('server/plugins/line-channel', () => {
  it('stops a plugin that writes a line without end, long before its deadline', async () => {
    const executable = join(dir, 'flood');
    // Reads the request, then writes 'x' forever with no newline.
    writeFileSync(executable, "#!/bin/sh\nread line\nexec yes x | tr -d '\\n'\n");
    chmodSync(executable, 0o755);
    const channel = createLineChannel({
      executable,
      cwd: dir,
      pluginId: 'flood',
      timeoutMs: 60_000,
    });
    const started = Date.now();
    await expect(channel.send('latest-revision', {})).rejects.toThrow(
      /answered a line of more than 16777216 bytes/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
