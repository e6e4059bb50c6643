import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';

/**
 * Notices `hoist plugins install` and `remove` while the server runs: every `intervalMs` it
 * looks at the list of installed plugins (`<data>/plugins/installed.json`, which both write
 * last), and calls `onChange` when it changed. A failing `onChange` is logged; the next change
 * tries again.
 */
export function watchInstalledPlugins(options: {
  dataDir: string;
  logger: Logger;
  onChange: () => Promise<void>;
  intervalMs?: number;
}): { stop(): void } {
  const file = join(options.dataDir, 'plugins', 'installed.json');
  const signature = async () => {
    const info = await stat(file).catch(() => undefined);
    return info ? `${info.mtimeMs}:${info.size}` : 'none';
  };
  let last: Promise<string> = signature();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await signature();
      if (now === (await last)) return;
      last = Promise.resolve(now);
      await options.onChange();
    } catch (error) {
      options.logger.error(
        { err: error },
        'the installed plugins could not be loaded; the ones loaded before stay in use',
      );
    } finally {
      busy = false;
    }
  }, options.intervalMs ?? 2000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
