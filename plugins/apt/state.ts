import type { JsonValue, PluginContext } from 'hoist';
import type { Conditional } from './inrelease.ts';
import type { AptPackage } from './packages.ts';

/**
 * The last answer, kept in the material's state: reused while the Release is unchanged (a 304,
 * or the same text), so that a re-check downloads no index.
 */
export const STATE_KEY = 'apt';
export const STATE_VERSION = 1;

export interface CachedState {
  raw: Record<string, JsonValue>;
  releaseKey: string;
  conditional: Conditional | undefined;
  published: string;
  packages: AptPackage[];
}

export function readState(ctx: PluginContext, configKey: string): CachedState | undefined {
  const raw = ctx.state.get(STATE_KEY);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  if (raw.v !== STATE_VERSION || raw.configKey !== configKey || !Array.isArray(raw.packages))
    return undefined;
  const conditional = raw.conditional as Conditional | undefined;
  return {
    raw,
    releaseKey: String(raw.releaseKey),
    conditional: conditional && typeof conditional === 'object' ? conditional : undefined,
    published: String(raw.published),
    packages: raw.packages as unknown as AptPackage[],
  };
}

export function writeState(ctx: PluginContext, value: Record<string, JsonValue | undefined>): void {
  ctx.state.set(STATE_KEY, JSON.parse(JSON.stringify(value)) as JsonValue);
}
