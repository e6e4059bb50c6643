/**
 * How long the command spent loading its modules: the static graph of `main.ts` (from the end of
 * Node's own bootstrap to the first line of `main.ts`) plus each module loaded on demand through
 * `loadTimed`. With HOIST_STARTUP_TIMING=1 one line on stderr says so at exit (the benchmark
 * reads it).
 */
const loaded = { ms: 0 };

/** Marks the end of the static graph's loading; called once, first thing in `main.ts`. */
export function staticGraphLoaded(): void {
  loaded.ms += performance.now() - performance.nodeTiming.bootstrapComplete;
  if (process.env.HOIST_STARTUP_TIMING === '1') {
    process.once('exit', () => {
      const node = performance.nodeTiming.bootstrapComplete;
      process.stderr.write(
        `hoist: startup: node ${node.toFixed(1)} ms, modules ${loaded.ms.toFixed(1)} ms\n`,
      );
    });
  }
}

/** `import()` whose time counts as module loading. */
export async function loadTimed<T>(load: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await load();
  } finally {
    loaded.ms += performance.now() - start;
  }
}
