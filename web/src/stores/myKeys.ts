// The keys I hold, read once and shared: key tiles on About pages show their info fields from
// here rather than each asking the server.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { type MyKey, me } from '../api/index.js';

export const useMyKeysStore = defineStore('myKeys', () => {
  const keys = ref<MyKey[]>([]);
  let loaded = false;
  let inflight: Promise<MyKey[]> | null = null;

  /**
   * My keys. `fresh` asks again (a key just arrived); a read under way is shared either way, so
   * several tiles mounting together cost one request.
   */
  function load(fresh = false): Promise<MyKey[]> {
    if (inflight) return inflight;
    if (loaded && !fresh) return Promise.resolve(keys.value);
    inflight = me
      .keys()
      .then((list) => {
        keys.value = list;
        loaded = true;
        return list;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }
  const byId = (id: number) => keys.value.find((k) => k.id === id) ?? null;
  /** on sign-out: the next person must not see these */
  function clear() {
    keys.value = [];
    loaded = false;
  }

  return { keys, load, byId, clear };
});
