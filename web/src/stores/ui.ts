// Snackbar messages and API error translation (actions report through composables/useAction).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError } from '../api/index.js';
import { i18n } from '../i18n/index.js';
import { keywordMessage } from '../lib/validation-keywords.js';

export interface Toast {
  id: number;
  text: string;
  color: 'success' | 'error' | 'info';
}

let seq = 0;

export function errorText(e: unknown): string {
  const { t, te, locale } = i18n.global;
  if (e instanceof ApiError) {
    // a refused input: its name and the rule in the UI's language, not the validator's English
    const worded = keywordMessage(e);
    if (worded) return e.field ? `${e.field}: ${worded}` : worded;
    const key = `errors.${e.code}`;
    // English: the server's message is the most precise; other languages: the translated code.
    if (locale.value !== 'en' && te(key)) return t(key);
    if (e.message) return e.message;
    return te(key) ? t(key) : t('errors.unknown');
  }
  return t('errors.unknown');
}

export const useUiStore = defineStore('ui', () => {
  const toasts = ref<Toast[]>([]);
  /** Bumped when something outside a panel (a notification) says its data changed. */
  const refreshTick = ref(0);
  const refreshAll = () => refreshTick.value++;

  /** The newest message replaces what is shown; an unread error stays queued behind it. */
  function push(text: string, color: Toast['color']) {
    toasts.value = [{ id: ++seq, text, color }, ...toasts.value.filter((x) => x.color === 'error')].slice(0, 3);
  }
  const success = (text: string) => push(text, 'success');
  const info = (text: string) => push(text, 'info');
  function error(e: unknown) {
    if (!(e instanceof ApiError)) console.warn(e);
    push(errorText(e), 'error');
  }
  function dismiss(id: number) {
    toasts.value = toasts.value.filter((x) => x.id !== id);
  }
  /** Drops queued errors once what they were about is settled (a sign-in that then worked). */
  function clearErrors() {
    toasts.value = toasts.value.filter((x) => x.color !== 'error');
  }
  /** A page is on its way (its code or the session check): the app bar shows progress. */
  const navigating = ref(false);

  return { toasts, refreshTick, refreshAll, success, info, error, dismiss, clearErrors, navigating };
});
