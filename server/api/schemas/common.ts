import { z } from 'zod';

/** One problem of a refused request or configuration, with the path of its field. */
export const Issue = z.object({ key: z.string(), message: z.string() }).meta({
  id: 'Issue',
  description: 'One problem, with the path of its field (empty for the whole).',
});
export type Issue = z.infer<typeof Issue>;

/** What every error answer holds. */
export const ErrorDetail = z
  .object({
    code: z.string().meta({ description: 'A stable code, e.g. `ERR_NOT_FOUND`.' }),
    message: z.string().meta({ description: 'One line for people.' }),
    issues: z.array(Issue).optional(),
  })
  .meta({ id: 'ErrorDetail' });

/** The error envelope of the API: `{"error": {code, message, issues?}}`. */
export const ErrorBody = z.object({ error: ErrorDetail }).meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Statuses an error answer may have, and what each means. */
const ERROR_MEANING = {
  400: 'The request does not match the API (a field, a query parameter, bad JSON).',
  401: 'No valid bearer token.',
  403: "The token's role is too low for this.",
  404: 'No such object.',
  409: 'The request conflicts with the current state.',
  422: 'A configuration that is refused, with every problem and its field path.',
  507: 'The server cannot store the change: no space left on its disk.',
} as const;
export type ErrorStatus = keyof typeof ERROR_MEANING;

/** The error answers of a route: the envelope, described by status (zod schemas for fastify). */
export function errorsOf<S extends ErrorStatus>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(
    statuses.map((s) => [s, ErrorBody.describe(ERROR_MEANING[s])]),
  ) as Record<S, typeof ErrorBody>;
}

/** Every authenticated route may answer these. */
export const AUTH_ERRORS = [401, 403] as const;

/** An answer with no body. */
export const NoContent = z.undefined().describe('Done; no body.');
