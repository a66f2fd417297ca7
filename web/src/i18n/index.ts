import { createI18n } from 'vue-i18n';
import { en } from './en.js';
import { ru } from './ru.js';

export type Locale = 'en' | 'ru';
export const LOCALES: Locale[] = ['en', 'ru'];
const STORAGE_KEY = 'keyport.locale';

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

/** zero | one | few (2–4) | many, as Russian needs. */
function russianPlural(choice: number, choicesLength: number): number {
  if (choice === 0) return 0;
  const teen = choice % 100 > 10 && choice % 100 < 20;
  if (!teen && choice % 10 === 1) return Math.min(1, choicesLength - 1);
  if (!teen && choice % 10 >= 2 && choice % 10 <= 4) return Math.min(2, choicesLength - 1);
  return Math.min(3, choicesLength - 1);
}

export const i18n = createI18n({
  legacy: false,
  pluralRules: { ru: russianPlural },
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, ru },
  datetimeFormats: {
    en: {
      short: { year: 'numeric', month: 'short', day: 'numeric' },
      long: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
    },
    ru: {
      short: { year: 'numeric', month: 'short', day: 'numeric' },
      long: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
    },
  },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}
