import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, auth as authApi, type Session, setCsrfToken, type User } from '../api/index.js';
import { useMyKeysStore } from './myKeys.js';

/** Set while this browser holds a session cookie (which scripts cannot read: httpOnly). */
const HINT = 'keyport.session';

export const useAuthStore = defineStore('auth', () => {
  const user = ref<User | null>(null);
  let loading: Promise<void> | null = null;

  function accept(session: Session) {
    user.value = session.user;
    setCsrfToken(session.csrf_token);
    localStorage.setItem(HINT, '1');
  }

  /** Resolves once the current session (if any) is known. Without the hint there is no session
   *  to look for, so an anonymous visitor causes no 401 round trip. */
  function ready(): Promise<void> {
    if (!localStorage.getItem(HINT)) return Promise.resolve();
    loading ??= authApi
      .me()
      .then(accept)
      .catch((e) => {
        if (!(e instanceof ApiError) || e.status !== 401) console.warn('session check failed', e);
        forget();
      });
    return loading;
  }

  function forget() {
    user.value = null;
    useMyKeysStore().clear();
    setCsrfToken('');
    localStorage.removeItem(HINT);
    loading = null;
  }

  async function login(email: string, password: string) {
    accept(await authApi.login(email, password));
  }

  async function signup(email: string, password: string, name: string) {
    accept(await authApi.signup(email, password, name));
  }

  async function logout() {
    try {
      await authApi.logout();
    } finally {
      forget();
    }
  }

  /** Keeps this session; the server ends every other one. Resolves to how many it ended. */
  async function changePassword(current: string, next: string) {
    return (await authApi.changePassword(current, next)).ended_sessions;
  }

  /** Ends every session of mine, this one too. Resolves to how many were ended. */
  async function logoutAll() {
    const { ended_sessions } = await authApi.logoutAll();
    forget();
    return ended_sessions;
  }

  return { user, ready, login, signup, logout, logoutAll, changePassword, forget };
});
