// One closed set of error codes, one status table, one error body: {error: {code, message}}.
// Expected failures throw AppError; anything else becomes INTERNAL without details.

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  ROLE_LACKS_PROJECT_VIEW: 400,
  HASH_MISMATCH: 400,
  INVALID_REFERENCE: 400,
  /** a role that may not be used where it was put (a template's role with project_manage, a public role beyond viewing) */
  ROLE_NOT_ALLOWED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_KEY: 401,
  FORBIDDEN: 403,
  CSRF_FAILED: 403,
  INVALID_SIGNATURE: 403,
  NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  NAME_TAKEN: 409,
  CONFLICT: 409,
  REQUEST_PENDING: 409,
  INVALID_STATE: 409,
  ALREADY_MEMBER: 409,
  /** a revoked key cannot be rolled, renewed or copied */
  KEY_REVOKED: 409,
  KEY_EXPIRED: 409,
  /** a key already replaced by a roll (details.rolled_to names its successor) */
  KEY_ROLLED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  SPEND_CAP_REACHED: 429,
  INTERNAL: 500,
  /** a stored secret or data key failed authenticated decryption (tampered, moved, wrong master key) */
  DECRYPTION_FAILED: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}

export const notFound = (what = 'Object'): AppError => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (permission: string): AppError =>
  new AppError('FORBIDDEN', `This action needs the "${permission}" permission`);

export interface ErrorBody {
  error: { code: ErrorCode; message: string } & Record<string, unknown>;
}

export function errorBody(err: AppError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.details ?? {}) } };
}

/** One complaint of the schema validator (ajv), as Fastify hands it over. */
export interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Keywords whose `params.limit` is the bound the input broke (a UI words "at most {limit}" from it). */
const LIMIT_KEYWORDS = new Set([
  'maxLength',
  'minLength',
  'maximum',
  'minimum',
  'exclusiveMaximum',
  'exclusiveMinimum',
  'maxItems',
  'minItems',
]);

/**
 * A refused request as VALIDATION_FAILED. The message stays the validator's English (clients
 * matched on it before); `field` (dotted path in the body, query or params), `keyword` (the JSON
 * Schema keyword broken) and `limit` (its bound, where it has one) let a UI say it in its language.
 */
export function validationError(
  issue: ValidationIssue | undefined,
  context: string | undefined,
  message: string,
  namePattern: string,
): AppError {
  const params = issue?.params ?? {};
  const missing =
    issue?.keyword === 'required' && typeof params.missingProperty === 'string' ? params.missingProperty : '';
  const path = [...(issue?.instancePath ?? '').split('/').filter(Boolean), ...(missing ? [missing] : [])].join('.');
  const details: Record<string, unknown> = {};
  if (path) details.field = path;
  if (issue?.keyword) details.keyword = issue.keyword;
  if (issue?.keyword && LIMIT_KEYWORDS.has(issue.keyword) && typeof params.limit === 'number')
    details.limit = params.limit;
  if (params.pattern === namePattern) {
    const field = path || 'name';
    return new AppError('VALIDATION_FAILED', `${field} must not be blank or contain control characters`, {
      ...details,
      field,
    });
  }
  return new AppError(
    'VALIDATION_FAILED',
    `${context ?? 'input'} ${message.replace(/^(body|querystring|params|headers)\s*/, '')}`,
    details,
  );
}
