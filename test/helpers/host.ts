import { type CallOptions, createMemoryState, type Revision } from 'hoist';
import { createPluginRuntime } from '../../server/plugin-runtime.ts';

/** A runtime with the bundled plugins and the real HTTP client; close it after the test. */
export function testRuntime() {
  return createPluginRuntime({ timeoutMs: 60_000 });
}

/** `name-epoch:version-release.arch` of a yum revision, as dnf prints it. */
export function nevra(revision: Revision | null): string | undefined {
  if (!revision) return undefined;
  const d = revision.data;
  return `${d.NAME}-${d.EPOCH}:${d.VERSION}-${d.RELEASE}.${d.ARCH}`;
}

export { type CallOptions, createMemoryState };
