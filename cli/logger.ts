import type { Logger } from 'hoist';

/** A logger printing one line per record on stderr; debug records only when verbose. */
export function stderrLogger(verbose: boolean): Logger {
  const write = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    const extra = meta && Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
    process.stderr.write(`${level} ${message}${extra}\n`);
  };
  return {
    debug: verbose ? write('debug') : () => {},
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}
