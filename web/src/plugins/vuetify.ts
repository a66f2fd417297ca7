import 'vuetify/styles';
import './buttons.css';
import { createVuetify } from 'vuetify';
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg';
import { en, ru } from 'vuetify/locale';

// SVG icons only (@mdi/js): the server's CSP allows no icon font from a CDN.
export const vuetify = createVuetify({
  icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
  locale: { locale: 'en', fallback: 'en', messages: { en, ru } },
  theme: {
    defaultTheme: 'keyport',
    themes: {
      keyport: {
        dark: false,
        colors: { primary: '#1867C0', secondary: '#5CBBF6', background: '#F5F7FA' },
      },
    },
  },
  defaults: {
    VTextField: { variant: 'outlined', density: 'comfortable' },
    VTextarea: { variant: 'outlined', density: 'comfortable' },
    VSelect: { variant: 'outlined', density: 'comfortable' },
  },
});
