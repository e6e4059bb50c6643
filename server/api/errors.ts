import { type ErrorCode, HoistError } from 'hoist';

/** The one place where error codes become HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  ERR_CONFIG_INVALID: 422,
  ERR_PACKAGE_AMBIGUOUS: 422,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_PLUGIN_NOT_FOUND: 404,
  ERR_REPOSITORY_UNREACHABLE: 502,
  ERR_REPOSITORY_AUTH: 502,
  ERR_REPOSITORY_METADATA: 502,
  ERR_REPOSITORY_CHECKSUM: 502,
  ERR_PLUGIN_FAILED: 502,
  ERR_PLUGIN_TIMEOUT: 504,
  ERR_PLUGIN_DEFINITION: 500,
};

/** The JSON error body of the API. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: { key: string; message: string }[] };
}

/** Driver and system codes of a store or file write refused for lack of space. */
const NO_SPACE = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/** True for an error of a full disk: SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`, ENOSPC. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NO_SPACE.has(code);
}

/**
 * Status and body for any error: a full disk is a 507 that says so; other unknown errors become
 * a 500 without details.
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (isNoSpace(error)) {
    const message =
      'The server cannot write its data: no space left on device; free space for its data folder and try again';
    return { status: 507, body: { error: { code: 'ERR_NO_SPACE', message } } };
  }
  if (error instanceof HoistError) {
    const issues = (error as { issues?: { key: string; message: string }[] }).issues;
    return {
      status: STATUS[error.code] ?? 500,
      body: { error: { code: error.code, message: error.message, ...(issues ? { issues } : {}) } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'ERR_INTERNAL', message: 'Internal error; see the server log' } },
  };
}
