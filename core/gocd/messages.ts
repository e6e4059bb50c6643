import type {
  Configuration,
  PreviousRevision,
  PropertyDefinition,
  Revision,
} from '../plugin/types.ts';

/**
 * GoCD's `package-repository` extension (version 1.0) on the wire: the eight request names and
 * the JSON shapes, byte-compatible with GoCD (kebab-case keys, `display-order` as a string,
 * configuration maps as `{KEY: {value}}`).
 */
export const GOCD_REQUEST_NAMES = [
  'repository-configuration',
  'package-configuration',
  'validate-repository-configuration',
  'validate-package-configuration',
  'check-repository-connection',
  'check-package-connection',
  'latest-revision',
  'latest-revision-since',
] as const;

/** One of GoCD's eight `package-repository` request names. */
export type GoCdRequestName = (typeof GOCD_REQUEST_NAMES)[number];

/** A configuration map on the wire: `{KEY: {"value": "..."}}`. */
export type GoCdConfigMap = Record<string, { value?: string | null }>;

/** A property's metadata on the wire. */
export interface GoCdProperty {
  'display-name': string;
  'display-order': string;
  'default-value'?: string;
  secure: boolean;
  'part-of-identity': boolean;
  required: boolean;
}

/** A revision on the wire (GoCD's PackageRevision JSON). */
export interface GoCdRevision {
  revision: string;
  timestamp: string;
  user?: string | null;
  revisionComment?: string | null;
  trackbackUrl?: string | null;
  data?: Record<string, string> | null;
}

/** `{KEY: {value}}` → `{KEY: value}`; null values are dropped. */
export function fromGoCdConfigMap(map: GoCdConfigMap | undefined): Configuration {
  const config: Record<string, string> = {};
  for (const [key, entry] of Object.entries(map ?? {})) {
    if (typeof entry.value === 'string') config[key] = entry.value;
  }
  return config;
}

/** `{KEY: value}` → `{KEY: {value}}`. */
export function toGoCdConfigMap(config: Configuration): GoCdConfigMap {
  return Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }]));
}

/** Property definitions → GoCD's configuration response (`display-order` as a string). */
export function toGoCdProperties(
  properties: readonly PropertyDefinition[],
): Record<string, GoCdProperty> {
  const result: Record<string, GoCdProperty> = {};
  for (const p of properties) {
    result[p.key] = {
      'display-name': p.displayName,
      'display-order': String(p.displayOrder),
      ...(p.defaultValue === undefined ? {} : { 'default-value': p.defaultValue }),
      secure: p.secure,
      'part-of-identity': p.partOfIdentity,
      required: p.required,
    };
  }
  return result;
}

/** A revision → GoCD's PackageRevision JSON (timestamp as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`). */
export function toGoCdRevision(revision: Revision): GoCdRevision {
  return {
    revision: revision.revision,
    timestamp: new Date(revision.timestamp).toISOString(),
    ...(revision.user === undefined ? {} : { user: revision.user }),
    ...(revision.comment === undefined ? {} : { revisionComment: revision.comment }),
    ...(revision.trackbackUrl === undefined ? {} : { trackbackUrl: revision.trackbackUrl }),
    data: revision.data,
  };
}

/** GoCD's PackageRevision JSON → a revision (null fields dropped). */
export function fromGoCdRevision(wire: GoCdRevision): Revision {
  const revision: Revision = {
    revision: wire.revision,
    timestamp: wire.timestamp,
    data: wire.data ?? {},
  };
  if (wire.user != null) revision.user = wire.user;
  if (wire.revisionComment != null) revision.comment = wire.revisionComment;
  if (wire.trackbackUrl != null) revision.trackbackUrl = wire.trackbackUrl;
  return revision;
}

/** The `previous-revision` GoCD sends back: revision, timestamp and data only. */
export function toGoCdPreviousRevision(previous: PreviousRevision) {
  return {
    revision: previous.revision,
    timestamp: new Date(previous.timestamp).toISOString(),
    data: previous.data,
  };
}
