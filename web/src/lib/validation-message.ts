// A refused input worded for the field it belongs to, in the UI's language: the server's
// VALIDATION_FAILED carries `keyword` and `limit` (server/src/errors.ts validationError), so the
// validator's English never reaches the user. Other refusals (NAME_TAKEN…) word their code.
import { ApiError } from '../api/index.js';
import { i18n } from '../i18n/index.js';
import { errorText } from '../stores/ui.js';

// The server's own bounds (its route schemas use this file): inputs show them as maxlength + counter.
export { TEMPLATE_LIMITS } from '../../../server/src/modules/templates/limits';

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

export interface FieldMessageOptions {
  /** what the field's pattern means (e.g. "Letters, digits and _ only"), instead of a generic text */
  pattern?: string;
}

/** The message to show at the field whose save failed with `e`. */
export function fieldMessage(e: unknown, options: FieldMessageOptions = {}): string {
  const { t } = i18n.global;
  if (e instanceof ApiError && e.code === 'VALIDATION_FAILED') {
    const keyword = typeof e.details.keyword === 'string' ? e.details.keyword : '';
    const limit = typeof e.details.limit === 'number' ? e.details.limit : undefined;
    if (keyword === 'pattern' && options.pattern) return options.pattern;
    // minLength 1 is "cannot be empty"
    if (keyword === 'minLength' && limit === 1) return t('validation.required');
    const key = KEYWORD_KEYS[keyword];
    if (key) return t(key, { limit: limit ?? '' });
  }
  return errorText(e);
}
