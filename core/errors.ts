/**
 * Hoist's error classes. Each has a stable `code` (part of the API: the HTTP layer and the CLI map
 * codes, never messages, to statuses and exit codes) and a one-line `message` fit for a user.
 * Errors raised inside a plugin call are tagged with the plugin's id by the host.
 */

/** Every stable error code Hoist emits. */
export type ErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_PACKAGE_AMBIGUOUS'
  | 'ERR_REPOSITORY_UNREACHABLE'
  | 'ERR_REPOSITORY_AUTH'
  | 'ERR_REPOSITORY_METADATA'
  | 'ERR_REPOSITORY_CHECKSUM'
  | 'ERR_PLUGIN_FAILED'
  | 'ERR_PLUGIN_TIMEOUT'
  | 'ERR_PLUGIN_DEFINITION'
  | 'ERR_PLUGIN_NOT_FOUND'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN';

/** One configuration problem, attached to the key it belongs to ('' for the whole configuration). */
export interface ValidationIssue {
  /** The property key, or '' when the problem concerns the configuration as a whole. */
  key: string;
  /** What is wrong, in one sentence a user can act on. */
  message: string;
}

/** Base class of every error Hoist raises on purpose. */
export class HoistError extends Error {
  /** Stable identifier of the kind of failure. */
  readonly code: ErrorCode;
  /** Id of the plugin whose call failed, when the failure came from a plugin call. */
  pluginId: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; pluginId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.pluginId = options?.pluginId;
  }
}

/** The user's configuration is wrong; `issues` lists every problem at once. */
export class ConfigInvalidError extends HoistError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[], options?: { pluginId?: string }) {
    super('ERR_CONFIG_INVALID', summarizeIssues(issues), options);
    this.issues = issues;
  }
}

/** A package spec resolves to more than one package stream; the message names them. */
export class PackageAmbiguousError extends HoistError {
  constructor(message: string, options?: { pluginId?: string }) {
    super('ERR_PACKAGE_AMBIGUOUS', message, options);
  }
}

/** Why a repository could not be reached. */
export type UnreachableReason = 'network' | 'status' | 'tls' | 'timeout';

/** The repository could not be reached or answered with an error status; usually transient. */
export class RepositoryUnreachableError extends HoistError {
  readonly reason: UnreachableReason;
  /** HTTP status, when the repository answered. */
  readonly status: number | undefined;
  /** How long the repository asked us to wait (from `Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { reason: UnreachableReason; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super('ERR_REPOSITORY_UNREACHABLE', message, { cause: details.cause });
    this.reason = details.reason;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The repository refused our credentials (HTTP 401 or 403). */
export class RepositoryAuthError extends HoistError {
  readonly status: number;

  constructor(message: string, status: number) {
    super('ERR_REPOSITORY_AUTH', message);
    this.status = status;
  }
}

/** The repository's metadata is malformed or inconsistent; lasts until the repository changes. */
export class RepositoryMetadataError extends HoistError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_REPOSITORY_METADATA', message, options);
  }
}

/** A downloaded file does not match the checksum its metadata declares. */
export class ChecksumMismatchError extends HoistError {
  constructor(message: string) {
    super('ERR_REPOSITORY_CHECKSUM', message);
  }
}

/** A plugin threw something unexpected or returned a value that breaks the contract. */
export class PluginError extends HoistError {
  constructor(message: string, options?: { cause?: unknown; pluginId?: string }) {
    super('ERR_PLUGIN_FAILED', message, options);
  }
}

/** A plugin call did not finish within its time limit and was aborted. */
export class PluginTimeoutError extends HoistError {
  constructor(message: string, options?: { pluginId?: string }) {
    super('ERR_PLUGIN_TIMEOUT', message, options);
  }
}

/** A plugin definition is invalid (bad id, duplicate keys, missing calls…). */
export class PluginDefinitionError extends HoistError {
  constructor(message: string, options?: { pluginId?: string }) {
    super('ERR_PLUGIN_DEFINITION', message, options);
  }
}

/** No plugin is registered under the requested id. */
export class PluginNotFoundError extends HoistError {
  constructor(id: string, known: readonly string[]) {
    super(
      'ERR_PLUGIN_NOT_FOUND',
      `No plugin with id '${id}'. Known plugins: ${known.join(', ') || '(none)'}`,
    );
  }
}

/** The object asked for does not exist. */
export class NotFoundError extends HoistError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

/** The change conflicts with the current state (a duplicate, or an object still in use). */
export class ConflictError extends HoistError {
  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}

/** No valid credentials were presented. */
export class UnauthenticatedError extends HoistError {
  constructor(message = 'A valid bearer token is required') {
    super('ERR_UNAUTHENTICATED', message);
  }
}

/** The credentials are valid but not allowed to do this. */
export class ForbiddenError extends HoistError {
  constructor(message: string) {
    super('ERR_FORBIDDEN', message);
  }
}

function summarizeIssues(issues: ValidationIssue[]): string {
  if (issues.length === 0) return 'Configuration is invalid';
  return issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message)).join('; ');
}

/** True when `error` is one of Hoist's own errors (and so carries a stable `code`). */
export function isHoistError(error: unknown): error is HoistError {
  return error instanceof HoistError;
}
