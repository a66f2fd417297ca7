// Runs a component's API actions: `busy` while one runs; a failure goes to the snackbar, in the
// UI's language (or to `onError`, for a form that shows it at the field that caused it).
import { ref } from 'vue';
import { errorText, useUiStore } from '../stores/ui.js';

export interface RunOptions<T> {
  /** snackbar text once the action succeeded */
  success?: string | ((result: T) => string);
  /** shows the failure where it belongs instead of in the snackbar */
  onError?: (e: unknown) => void;
}

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

  return { run, busy, error };
}
