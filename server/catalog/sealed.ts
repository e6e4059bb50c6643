import type { Configuration, PropertyDefinition } from 'hoist';
import type { PipelineConfig } from '../config/schema.ts';
import type { SecretBox } from '../secrets.ts';
import { sealSecureVariables } from './secure-variables.ts';

/** Plain and sealed values of one configuration, as stored. */
export interface SplitValues {
  config: Record<string, string>;
  secrets: Record<string, string>;
}

/** Sealing secure property values before they reach the store, and opening them for plugins. */
export interface SealedValues {
  /** Splits values into plain and sealed; an unchanged secret keeps its sealed form. */
  split(
    properties: readonly PropertyDefinition[],
    values: Record<string, string>,
    previous: Record<string, string> | undefined,
  ): SplitValues;
  /** Both parts as one configuration, secrets opened. */
  open(config: Record<string, string>, secrets: Record<string, string>): Configuration;
  /** A pipeline definition with its secure variables sealed (unchanged ones keep their form). */
  pipeline(definition: PipelineConfig, previous: PipelineConfig | undefined): PipelineConfig;
  /** One sealed value opened (a secure variable, when a job's environment is built). */
  openValue(sealed: string): string;
}

export function sealedValues(box: SecretBox): SealedValues {
  const tryOpen = (sealed: string): string | undefined => {
    try {
      return box.open(sealed);
    } catch {
      return undefined;
    }
  };
  return {
    split(properties, values, previous) {
      const secure = new Set(properties.filter((p) => p.secure).map((p) => p.key));
      const config: Record<string, string> = {};
      const secrets: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) {
        if (!secure.has(key)) {
          config[key] = value;
          continue;
        }
        if (value === '') continue;
        const old = previous?.[key];
        secrets[key] = old !== undefined && tryOpen(old) === value ? old : box.seal(value);
      }
      return { config, secrets };
    },
    open(config, secrets) {
      const result: Record<string, string> = { ...config };
      for (const [key, sealed] of Object.entries(secrets)) result[key] = box.open(sealed);
      return result;
    },
    pipeline: (definition, previous) => sealSecureVariables(definition, previous, box),
    openValue: (sealed) => box.open(sealed),
  };
}
