// Invitations addressed to me: the account menu's badge, the Projects page banner and the
// Invitations page read one list, fetched when signed in, on navigation and now and then.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ApiError, type MyInvitation, me } from '../api/index.js';

export const useInvitationsStore = defineStore('invitations', () => {
  const items = ref<MyInvitation[]>([]);
  const loaded = ref(false);
  const count = computed(() => items.value.length);
  let inFlight: Promise<void> | null = null;

  /** Quiet by design (a badge must not raise snackbars); the page shows its own errors. */
  function load(): Promise<void> {
    inFlight ??= me
      .invitations()
      .then((list) => {
        items.value = list;
        loaded.value = true;
      })
      .catch((e) => {
        if (!(e instanceof ApiError) || e.status !== 401) console.warn('invitations', e);
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  function drop(id: number) {
    items.value = items.value.filter((i) => i.id !== id);
  }

  function clear() {
    items.value = [];
    loaded.value = false;
  }

  return { items, loaded, count, load, drop, clear };
});
