// Runs a component's API actions: `busy` while one runs; a failure goes to the snackbar, in the
// UI's language (or to `onError`, for a form that shows it at the field that caused it).
// Edits of a saved object report alike everywhere: `save` says "Saved" once the server took the
// change; `saveField` does too, and hands a refusal back worded for the field (not to the snackbar).
import { ref } from 'vue';
import { i18n } from '../i18n/index.js';
import { type FieldMessageOptions, fieldMessage } from '../lib/validation-message.js';
import { errorText, useUiStore } from '../stores/ui.js';

export interface RunOptions<T> {
  /** snackbar text once the action succeeded */
  success?: string | ((result: T) => string);
  /** shows the failure where it belongs instead of in the snackbar */
  onError?: (e: unknown) => void;
}

/** What `saveField` resolves to: the saved result, or the message for the field. */
export type FieldSave<T> = { ok: true; result: T } | { ok: false; message: string };

export function useAction() {
  const ui = useUiStore();
  const busy = ref(false);
  /** the last failure, worded for people; '' once an action succeeded */
  const error = ref('');

  /** Resolves to the action's result, or to undefined when it failed. */
  async function run<T>(action: () => Promise<T>, options: RunOptions<T> = {}): Promise<T | undefined> {
    busy.value = true;
    try {
      const result = await action();
      error.value = '';
      const text = typeof options.success === 'function' ? options.success(result) : options.success;
      if (text) ui.success(text);
      return result;
    } catch (e) {
      error.value = errorText(e);
      if (options.onError) options.onError(e);
      else ui.error(e);
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  /** An edit made by a button or a picker: "Saved", or the failure in the snackbar. */
  const save = <T>(action: () => Promise<T>, success?: string) =>
    run(action, { success: success ?? i18n.global.t('common.saved') });

  /** An edit typed into a field: "Saved", or the refusal returned for the field to show. */
  async function saveField<T>(action: () => Promise<T>, options: FieldMessageOptions = {}): Promise<FieldSave<T>> {
    let message = '';
    const result = await run(action, {
      success: i18n.global.t('common.saved'),
      onError: (e) => {
        message = fieldMessage(e, options);
      },
    });
    return message ? { ok: false, message } : { ok: true, result: result as T };
  }

  return { run, save, saveField, busy, error };
}
