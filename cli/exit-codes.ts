// The catalogue itself, not `hoist`'s index: every command loads this module, and the index
// loads the plugin host with it. The classes are the same ones `hoist` exports.
import { ConfigInvalidError, HoistError } from '../core/errors.ts';

/** Exit codes of `hoist check` (DESIGN.md): scripts rely on them. */
export const EXIT = {
  /** Found (with --since: answered, even when nothing is newer). */
  ok: 0,
  /** Repository error: unreachable, bad metadata, checksum mismatch, plugin failure. */
  repository: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** Nothing matches the package spec. */
  notFound: 3,
} as const;

/** Thrown by CLI code for usage errors; printed as one line, exit 2. */
export class UsageError extends Error {}

/** The exit code for an error. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof HoistError) {
    switch (error.code) {
      case 'ERR_CONFIG_INVALID':
      case 'ERR_PACKAGE_AMBIGUOUS':
      case 'ERR_PLUGIN_NOT_FOUND':
      case 'ERR_PLUGIN_DEFINITION':
        return EXIT.usage;
      default:
        return EXIT.repository;
    }
  }
  return EXIT.repository;
}

/** One line for the user (one more per configuration problem): never a stack trace. */
export function errorLine(error: unknown): string {
  if (error instanceof ConfigInvalidError && error.issues.length > 1) {
    const lines = error.issues.map((i) => `  ${i.key ? `${i.key}: ` : ''}${i.message}`);
    return `hoist: the configuration is invalid (${error.issues.length} problems):\n${lines.join('\n')}`;
  }
  if (error instanceof HoistError || error instanceof UsageError) return `hoist: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `hoist: unexpected error: ${message.split('\n')[0]} (set HOIST_DEBUG=1 for details)`;
}
