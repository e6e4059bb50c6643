import type { ValidationIssue } from '../errors.ts';
import type { Configuration, PropertyDefinition } from './types.ts';

/** Returns `config` with each unset property's default value filled in. */
export function withDefaults(
  properties: readonly PropertyDefinition[],
  config: Configuration,
): Configuration {
  const result: Record<string, string> = { ...config };
  for (const p of properties) {
    if ((result[p.key] === undefined || result[p.key] === '') && p.defaultValue !== undefined) {
      result[p.key] = p.defaultValue;
    }
  }
  return result;
}

/**
 * The checks core makes for every plugin: values are strings, required properties are set,
 * and no key is unknown. Returns every problem at once.
 */
export function validateAgainstProperties(
  properties: readonly PropertyDefinition[],
  config: Readonly<Record<string, unknown>>,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const known = new Set(properties.map((p) => p.key));
  const unknown = Object.keys(config).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    issues.push({
      key: '',
      message: `Unsupported key(s) found : ${unknown.join(', ')}. Allowed key(s) are : ${[...known].join(', ')}`,
    });
  }
  for (const p of properties) {
    const value = config[p.key];
    if (value !== undefined && typeof value !== 'string') {
      issues.push({ key: p.key, message: `${p.displayName} must be a string` });
    } else if (p.required && (value === undefined || value.trim() === '') && !p.defaultValue) {
      issues.push({ key: p.key, message: `${p.displayName} is required` });
    }
  }
  return issues;
}

/** Values of the secure properties that are set, for masking. */
export function secureValues(
  properties: readonly PropertyDefinition[],
  config: Configuration,
): string[] {
  return properties
    .filter((p) => p.secure)
    .map((p) => config[p.key])
    .filter((v): v is string => typeof v === 'string' && v !== '');
}
