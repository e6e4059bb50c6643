import type { ValidationIssue } from '../errors.ts';

/** A configuration as a user writes it: property key to string value. */
export type Configuration = Readonly<Record<string, string>>;

/** How a plugin declares one configuration property. Omitted flags take GoCD's defaults. */
export interface PropertyInput {
  /** The key, as written in configuration: letters, digits and `_` (e.g. `REPO_URL`). */
  key: string;
  /** Label shown to users; defaults to the key. */
  displayName?: string;
  /** Position among the properties (ascending); defaults to declaration order. */
  displayOrder?: number;
  /** Must be set and non-empty; default `true`. */
  required?: boolean;
  /** A secret: encrypted at rest, never shown, masked in logs; default `false`. */
  secure?: boolean;
  /** Part of the material's identity (fingerprint); default `true`. Secure properties never are. */
  partOfIdentity?: boolean;
  /** Value used when the user sets none. */
  defaultValue?: string;
  /** One sentence of help for users (shown by the CLI, the API and the dashboard). */
  description?: string;
}

/** A property after `defineRepositoryPlugin` has applied the defaults. */
export interface PropertyDefinition {
  readonly key: string;
  readonly displayName: string;
  readonly displayOrder: number;
  readonly required: boolean;
  readonly secure: boolean;
  readonly partOfIdentity: boolean;
  readonly defaultValue: string | undefined;
  readonly description: string | undefined;
}

/**
 * Keys of properties and of revision data, as GoCD's package-repository messages carry them:
 * letters, digits, `_` and `-` (GoCD's own examples use `key-one` and `DATA-THREE`). Job
 * environment names are derived from them by GoCD's rule (`escapeEnvName`).
 */
export const DATA_KEY = /^[A-Za-z0-9_-]+$/;

/** Keys of repository and package properties (the same characters as data keys). */
export const PROPERTY_KEY = DATA_KEY;

/**
 * One version of a package as a plugin reports it. `revision` is its label (e.g.
 * `app-1.2-1.noarch`); `timestamp` is an ISO-8601 instant; `data` becomes job environment, so
 * its keys match `[A-Za-z0-9_-]+`. `revisionProblem` checks a value against this contract.
 */
export interface Revision {
  revision: string;
  timestamp: string;
  user?: string;
  comment?: string;
  trackbackUrl?: string;
  data: Record<string, string>;
}

/** What a host knows of a stored revision when it asks for newer ones (GoCD sends no more). */
export type PreviousRevision = Pick<Revision, 'revision' | 'timestamp' | 'data'>;

/** Result of a connection check: human-readable messages either way. */
export interface ConnectionResult {
  ok: boolean;
  messages: string[];
}

/** Minimal structured logger handed to plugins; `meta` is merged into the log record. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** TLS settings for one request. PEM text, not paths: the host reads files, plugins don't. */
export interface TlsOptions {
  /** Extra CA certificates (PEM) to trust besides the system's. */
  ca?: string;
  /** Client certificate (PEM). */
  cert?: string;
  /** Client private key (PEM). */
  key?: string;
  /** Verify the server's certificate; default `true`. */
  verify?: boolean;
}

/** One HTTP (or `file:`) request made through the host. */
export interface HttpRequest {
  url: string;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Basic-auth credentials; the host never puts them in URLs or logs. */
  auth?: { username: string; password: string };
  tls?: TlsOptions;
  /** Proxy URL (http or https). */
  proxy?: string;
  /** Give up when no byte arrives for this long; default 30 s. */
  timeoutMs?: number;
  /** Redirects to follow (never to `file:`); default 5. */
  maxRedirects?: number;
  signal?: AbortSignal;
}

/** An HTTP response whose body is streamed; callers must consume or `cancel()` it. */
export interface HttpResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The final URL after redirects. */
  url: string;
  body: AsyncIterable<Uint8Array>;
  /** Release the connection without reading the body. */
  cancel(): Promise<void>;
}

/**
 * The host's HTTP client. It speaks http, https and file URLs, bounds redirects, refuses
 * redirects to `file:` and turns network failures into `RepositoryUnreachableError`s.
 */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

/** JSON-serialisable value, as kept in a material's state. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Scratch state kept per material between calls (ETags, checksums, cached answers). The host
 * persists it; a plugin must treat it as a cache that may be empty at any call.
 */
export interface MaterialState {
  get(key: string): JsonValue | undefined;
  set(key: string, value: JsonValue): void;
  delete(key: string): void;
}

/** Everything a plugin may use during a call. Plugins touch nothing global. */
export interface PluginContext {
  /** HTTP client (http, https, file). */
  readonly http: HttpClient;
  /** Logger bound to the plugin and material. Never log secure values. */
  readonly logger: Logger;
  /** Aborted when the call times out or the host shuts down; pass it to every I/O. */
  readonly signal: AbortSignal;
  /** The host's clock. */
  now(): Date;
  /** Per-material scratch state. */
  readonly state: MaterialState;
}

/** A validation callback's result: every problem at once, or an empty list. */
export type ValidationResult = ValidationIssue[] | Promise<ValidationIssue[]>;

/** The calls a repository plugin implements. Configurations arrive with defaults applied. */
export interface RepositoryPluginCalls {
  /**
   * Plugin-specific checks of a repository configuration. Core has already checked required and
   * unknown keys; return every further problem at once, with the key it belongs to.
   */
  validateRepository?(repository: Configuration): ValidationResult;
  /** Plugin-specific checks of a package configuration (its repository's configuration given). */
  validatePackage?(repository: Configuration, pkg: Configuration): ValidationResult;
  /** Can the repository be reached? Answer, don't throw, for expected failures. */
  checkRepositoryConnection(
    repository: Configuration,
    ctx: PluginContext,
  ): Promise<ConnectionResult>;
  /** Does the package exist, and which revision is newest? */
  checkPackageConnection(
    repository: Configuration,
    pkg: Configuration,
    ctx: PluginContext,
  ): Promise<ConnectionResult>;
  /** The newest matching revision, or `null` when nothing matches. Throws Hoist errors. */
  latestRevision(
    repository: Configuration,
    pkg: Configuration,
    ctx: PluginContext,
  ): Promise<Revision | null>;
  /**
   * Every revision newer than `previous`, oldest first; empty when there is none. The host calls
   * this on every poll after the first, so no version published between two polls is lost.
   */
  latestRevisionsSince(
    repository: Configuration,
    pkg: Configuration,
    previous: PreviousRevision,
    ctx: PluginContext,
  ): Promise<Revision[]>;
  /**
   * Optional: the revision with this exact label, if the repository still has it (whether or not
   * the host has seen it), else `null`. Lets a person pin a run to an older version that was
   * published before the material was first polled (a rollback). Without it, only revisions the
   * host has stored can be pinned.
   */
  revisionByLabel?(
    repository: Configuration,
    pkg: Configuration,
    label: string,
    ctx: PluginContext,
  ): Promise<Revision | null>;
  /**
   * Optional, for plugins whose calls a server runs in worker threads: `latestRevisionsSince`'s
   * answer when the repository has not changed since the answer the plugin kept in the material
   * state, found with no more than a small request (e.g. answered 304 Not Modified); undefined
   * when more is needed. For the bundled plugins the server calls it in its own thread first and
   * sends the call to a worker only when it answers undefined, so the answer must be the one the
   * full call gives. (An installed plugin's code never runs in the server's thread.)
   */
  latestRevisionsSinceIfUnchanged?(
    repository: Configuration,
    pkg: Configuration,
    previous: PreviousRevision,
    ctx: PluginContext,
  ): Promise<Revision[] | undefined>;
}

/** What a plugin author passes to `defineRepositoryPlugin`. */
export interface RepositoryPluginInput extends RepositoryPluginCalls {
  /** Unique id, kebab-case (e.g. `yum`, `maven-central`). */
  id: string;
  /** The plugin's own version (semver). */
  version: string;
  /** Human name, e.g. "Yum repository". */
  displayName: string;
  /** One paragraph on what the plugin polls. */
  description?: string;
  /** Properties of a repository (shared by its packages). */
  repositoryProperties: PropertyInput[];
  /** Properties of one package within a repository. */
  packageProperties: PropertyInput[];
  /**
   * What the plugin's calls receive: `with-defaults` (the default) fills each unset property's
   * default value in; `as-configured` passes the configured keys only, as GoCD forwards a
   * configuration to its plugins (executable plugins, which apply their own defaults).
   */
  configuration?: ConfigurationForwarding;
}

/** How a configuration reaches a plugin's calls (see `RepositoryPluginInput.configuration`). */
export type ConfigurationForwarding = 'with-defaults' | 'as-configured';

/** Plugin API version this build of Hoist speaks. */
export const PLUGIN_API_VERSION = 1;

/** A plugin as `defineRepositoryPlugin` returns it: checked, normalised and frozen. */
export interface RepositoryPlugin extends RepositoryPluginCalls {
  readonly apiVersion: typeof PLUGIN_API_VERSION;
  readonly id: string;
  readonly version: string;
  /** What the plugin's calls receive; `with-defaults` unless the plugin said otherwise. */
  readonly configuration?: ConfigurationForwarding;
  readonly displayName: string;
  readonly description: string | undefined;
  /** Sorted by display order. */
  readonly repositoryProperties: readonly PropertyDefinition[];
  /** Sorted by display order. */
  readonly packageProperties: readonly PropertyDefinition[];
}
