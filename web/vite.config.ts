import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';
import vuetify from 'vite-plugin-vuetify';

// The UI is served by the Keyport server on the same port (server/src/app.ts serves web/dist).
// `npm run dev -w web` proxies /api to a server on KEYPORT_DEV_API (default http://127.0.0.1:8080).
export default defineConfig({
  plugins: [vue(), vuetify({ autoImport: true })],
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    proxy: { '/api': process.env.KEYPORT_DEV_API ?? 'http://127.0.0.1:8080' },
  },
  build: {
    // Vuetify alone is ~400 kB minified; split vendor code so no chunk trips the warning.
    chunkSizeWarningLimit: 800,
    sourcemap: false,
  },
});
