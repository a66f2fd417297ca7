import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { setUnauthorizedHandler } from './api/http.js';
import { i18n } from './i18n/index.js';
import { vuetify } from './plugins/vuetify.js';
import { router } from './router.js';
import { useAuthStore } from './stores/auth.js';

document.documentElement.lang = i18n.global.locale.value;
const pinia = createPinia();
createApp(App).use(pinia).use(i18n).use(vuetify).use(router).mount('#app');

setUnauthorizedHandler(() => {
  const auth = useAuthStore(pinia);
  if (!auth.user) return;
  auth.forget();
  const here = router.currentRoute.value;
  if (!here.meta.public) void router.push({ name: 'login', query: { next: here.fullPath } });
});
