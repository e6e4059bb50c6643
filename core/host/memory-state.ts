import type { JsonValue, MaterialState } from '../plugin/types.ts';

/** A material state kept in memory; `snapshot()` gives what a host would persist. */
export interface MemoryState extends MaterialState {
  snapshot(): Record<string, JsonValue>;
  /** Whether a value was set or deleted since the state was made. */
  changed(): boolean;
}

/** Creates an in-memory material state, optionally seeded from a snapshot. */
export function createMemoryState(initial: Record<string, JsonValue> = {}): MemoryState {
  const values = new Map<string, JsonValue>(Object.entries(initial));
  let changed = false;
  return {
    get: (key) => values.get(key),
    set: (key, value) => {
      changed = true;
      values.set(key, value);
    },
    delete: (key) => {
      if (values.delete(key)) changed = true;
    },
    snapshot: () => Object.fromEntries(values),
    changed: () => changed,
  };
}
