import {
  ChecksumMismatchError,
  ConfigInvalidError,
  type ErrorCode,
  HoistError,
  type JsonValue,
  PackageAmbiguousError,
  PluginError,
  PluginTimeoutError,
  RepositoryAuthError,
  RepositoryMetadataError,
  RepositoryUnreachableError,
  type UnreachableReason,
  type ValidationIssue,
} from 'hoist';

/** The plugin calls that run in a worker: those that do I/O or parse what a repository sends. */
export type IsolatedCall =
  | 'checkRepositoryConnection'
  | 'checkPackageConnection'
  | 'latestRevision'
  | 'latestRevisionsSince'
  | 'revisionByLabel';

export const ISOLATED_CALLS: readonly IsolatedCall[] = [
  'checkRepositoryConnection',
  'checkPackageConnection',
  'latestRevision',
  'latestRevisionsSince',
  'revisionByLabel',
];

/** Where a worker finds a plugin: the bundled list, or an installed JavaScript module. */
export type PluginSource =
  | { kind: 'bundled'; id: string }
  | { kind: 'module'; id: string; url: string };

/** What a worker is started with. */
export interface WorkerSetup {
  userAgent: string;
  transferTimeoutMs: number | undefined;
}

/** One call, host to worker. `args` are the call's arguments before the context. */
export interface CallMessage {
  type: 'call';
  source: PluginSource;
  call: IsolatedCall;
  args: unknown[];
  state: Record<string, JsonValue>;
}

/** An error as it crosses a thread: enough to rebuild the same Hoist error. */
export interface WireError {
  name: string;
  code: ErrorCode | undefined;
  message: string;
  pluginId?: string | undefined;
  issues?: ValidationIssue[];
  reason?: UnreachableReason;
  status?: number | undefined;
  retryAfterMs?: number | undefined;
}

/** Worker to host: a log line, or the call's end. */
export type WorkerMessage =
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; meta?: unknown }
  | { type: 'done'; result: unknown; state: Record<string, JsonValue> }
  | { type: 'failed'; error: WireError };

/** An error thrown in the worker, as a message. */
export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) {
    return { name: 'Error', code: undefined, message: String(error) };
  }
  const wire: WireError = {
    name: error.name,
    code: error instanceof HoistError ? error.code : undefined,
    message: error.message,
  };
  if (error instanceof HoistError) wire.pluginId = error.pluginId;
  if (error instanceof ConfigInvalidError) wire.issues = error.issues;
  if (error instanceof RepositoryUnreachableError) {
    wire.reason = error.reason;
    wire.status = error.status;
    wire.retryAfterMs = error.retryAfterMs;
  }
  if (error instanceof RepositoryAuthError) wire.status = error.status;
  return wire;
}

/** The same error on the host's side (a plain Error, as the plugin threw it, when not Hoist's). */
export function fromWire(wire: WireError): Error {
  const options = wire.pluginId ? { pluginId: wire.pluginId } : {};
  const error = rebuild(wire, options);
  if (error instanceof HoistError && wire.pluginId) error.pluginId = wire.pluginId;
  return error;
}

function rebuild(wire: WireError, options: { pluginId?: string }): Error {
  switch (wire.code) {
    case 'ERR_CONFIG_INVALID':
      return new ConfigInvalidError(wire.issues ?? [{ key: '', message: wire.message }], options);
    case 'ERR_PACKAGE_AMBIGUOUS':
      return new PackageAmbiguousError(wire.message, options);
    case 'ERR_REPOSITORY_UNREACHABLE':
      return new RepositoryUnreachableError(wire.message, {
        reason: wire.reason ?? 'network',
        ...(wire.status === undefined ? {} : { status: wire.status }),
        ...(wire.retryAfterMs === undefined ? {} : { retryAfterMs: wire.retryAfterMs }),
      });
    case 'ERR_REPOSITORY_AUTH':
      return new RepositoryAuthError(wire.message, wire.status ?? 401);
    case 'ERR_REPOSITORY_METADATA':
      return new RepositoryMetadataError(wire.message);
    case 'ERR_REPOSITORY_CHECKSUM':
      return new ChecksumMismatchError(wire.message);
    case 'ERR_PLUGIN_FAILED':
      return new PluginError(wire.message, options);
    case 'ERR_PLUGIN_TIMEOUT':
      return new PluginTimeoutError(wire.message, options);
    case undefined: {
      const plain = new Error(wire.message);
      plain.name = wire.name;
      return plain;
    }
    default:
      return new HoistError(wire.code, wire.message, options);
  }
}
