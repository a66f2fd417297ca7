// How the UI words a VALIDATION_FAILED refusal by its `keyword` and `limit` (server/src/errors.ts
// validationError), in the UI's language; used at the field (validation-message.ts) and, for
// refusals without a field of their own on screen, in the snackbar (stores/ui.ts).
import { ApiError } from '../api/index.js';
import { i18n } from '../i18n/index.js';

/** Keywords the UI words itself; anything else falls back to the error code's text. */
const KEYWORD_KEYS: Record<string, string> = {
  maxLength: 'validation.maxLength',
  minLength: 'validation.minLength',
  maximum: 'validation.maximum',
  minimum: 'validation.minimum',
  required: 'validation.required',
  type: 'validation.type',
  format: 'validation.format',
  pattern: 'validation.pattern',
  reserved: 'validation.reserved',
};

/** The worded refusal, or null when `e` is not a VALIDATION_FAILED with a keyword the UI words. */
export function keywordMessage(e: unknown): string | null {
  if (!(e instanceof ApiError) || e.code !== 'VALIDATION_FAILED') return null;
  const keyword = typeof e.details.keyword === 'string' ? e.details.keyword : '';
  const limit = typeof e.details.limit === 'number' ? e.details.limit : undefined;
  // minLength 1 is "cannot be empty"
  if (keyword === 'minLength' && limit === 1) return i18n.global.t('validation.required');
  const key = KEYWORD_KEYS[keyword];
  return key ? i18n.global.t(key, { limit: limit ?? '' }) : null;
}
