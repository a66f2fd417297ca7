// A refused input worded for the field it belongs to, in the UI's language: the server's
// VALIDATION_FAILED carries `keyword` and `limit` (server/src/errors.ts validationError), so the
// validator's English never reaches the user. Other refusals (NAME_TAKEN…) word their code.
import { ApiError } from '../api/index.js';
import { errorText } from '../stores/ui.js';
import { keywordMessage } from './validation-keywords.js';

// The server's own bounds (its route schemas use this file): inputs show them as maxlength + counter.
export { TEMPLATE_LIMITS } from '../../../server/src/modules/templates/limits';

export interface FieldMessageOptions {
  /** what the field's pattern means (e.g. "Letters, digits and _ only"), instead of a generic text */
  pattern?: string;
}

/** The message to show at the field whose save failed with `e`. */
export function fieldMessage(e: unknown, options: FieldMessageOptions = {}): string {
  if (options.pattern && e instanceof ApiError && e.code === 'VALIDATION_FAILED' && e.details.keyword === 'pattern')
    return options.pattern;
  return keywordMessage(e) ?? errorText(e);
}
