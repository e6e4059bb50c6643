import { z } from 'zod';

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;

export const Role = z.enum(['viewer', 'operator', 'admin']).meta({ id: 'Role' });

/** Who a token is. */
export const Principal = z
  .object({ name: z.string(), role: Role, groups: z.array(z.string()) })
  .meta({ id: 'Principal' });
export type Principal = z.infer<typeof Principal>;

/** A server process sharing the store, and the leases it holds. */
export const Instance = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.number().int(),
    url: z.string(),
    version: z.string(),
    startedAt: z.string(),
    heartbeatAt: z.string(),
    materials: z
      .array(z.string())
      .meta({ description: 'Fingerprints of the materials it checks.' }),
    runs: z.array(z.string()).meta({ description: 'Runs it advances, as `pipeline/counter`.' }),
    alive: z.boolean(),
    self: z.boolean().meta({ description: 'The instance that answered.' }),
  })
  .meta({ id: 'Instance' });
export type Instance = z.infer<typeof Instance>;

/** How a plugin declares one configuration property. */
export const PluginProperty = z
  .object({
    key: z.string(),
    displayName: z.string(),
    displayOrder: z.number(),
    required: z.boolean(),
    secure: z.boolean(),
    partOfIdentity: z.boolean(),
    defaultValue: z.string().optional(),
    description: z.string().optional(),
  })
  .meta({ id: 'PluginProperty' });

/** GoCD's form of a property list (`key` → flags). */
const GoCdProperties = z.record(
  z.string(),
  z.object({
    'display-name': z.string(),
    'display-order': z.string(),
    'default-value': z.string().optional(),
    secure: z.boolean(),
    'part-of-identity': z.boolean(),
    required: z.boolean(),
  }),
);

/** An installed or bundled package-repository plugin. */
const PluginKind = z.enum(['bundled', 'exec', 'javascript']);

/** A plugin that loaded: its configuration properties, also in GoCD's shape. */
export const LoadedPlugin = z
  .object({
    id: z.string(),
    version: z.string(),
    displayName: z.string(),
    kind: PluginKind,
    state: z.literal('loaded'),
    description: z.string().nullable(),
    repositoryProperties: z.array(PluginProperty),
    packageProperties: z.array(PluginProperty),
    gocd: z.object({
      'repository-configuration': GoCdProperties,
      'package-configuration': GoCdProperties,
    }),
  })
  .meta({ id: 'LoadedPlugin' });

/** An installed plugin that failed to load, and why: it stops nothing else. */
export const FailedPlugin = z
  .object({
    id: z.string(),
    version: z.string(),
    displayName: z.string(),
    kind: PluginKind,
    state: z.literal('failed'),
    error: z.string().nullable(),
  })
  .meta({ id: 'FailedPlugin' });

export const Plugin = z.union([LoadedPlugin, FailedPlugin]).meta({ id: 'Plugin' });
export type Plugin = z.infer<typeof Plugin>;

/** One entry of the audit log. */
export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string().meta({ description: 'e.g. `POST /api/pipelines/:name/unlock`' }),
    target: z.string().meta({ description: "The route's parameters, e.g. `deploy/2/production`." }),
    outcome: z.number().int().meta({ description: 'HTTP status of the answer.' }),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;

/** GoCD's answer to a connection check: every failure is an answer, never an error status. */
export const ConnectionCheck = z
  .object({ status: z.enum(['success', 'failure']), messages: z.array(z.string()) })
  .meta({ id: 'ConnectionCheck' });
