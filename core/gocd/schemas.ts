import { z } from 'zod';

/**
 * zod schemas of GoCD's request bodies, for parsing what arrives over the wire. Loaded on
 * demand by the adapter, so that polling never pays for zod's start-up.
 */
export const GoCdConfigMap = z.record(z.string(), z.object({ value: z.string().nullish() }));

/** Request bodies of the messages that carry one. */
export const GoCdRequestBody = z.object({
  'repository-configuration': GoCdConfigMap.optional(),
  'package-configuration': GoCdConfigMap.optional(),
  'previous-revision': z
    .object({
      revision: z.string(),
      timestamp: z.string(),
      data: z.record(z.string(), z.string()).nullish(),
    })
    .optional(),
});
export type GoCdRequestBody = z.infer<typeof GoCdRequestBody>;

/** GoCD's PackageRevision JSON, as an exec plugin answers it. */
export const GoCdRevision = z.object({
  revision: z.string(),
  timestamp: z.string(),
  user: z.string().nullish(),
  revisionComment: z.string().nullish(),
  trackbackUrl: z.string().nullish(),
  data: z.record(z.string(), z.string()).nullish(),
});
