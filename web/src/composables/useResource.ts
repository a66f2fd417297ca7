// Data a component loads from the API: on mount (unless `immediate: false`) and on `reload()`.
// A failure keeps what is shown and goes to the snackbar (or to `onError`, for a quiet loader);
// the answer of a load that a newer one overtook is dropped, so the last asked for wins.
import { onMounted, type Ref, ref } from 'vue';
import { errorText, useUiStore } from '../stores/ui.js';

export interface ResourceOptions {
  immediate?: boolean;
  onError?: (e: unknown) => void;
}

export function useResource<T>(load: () => Promise<T>, initial: T, options: ResourceOptions = {}) {
  const ui = useUiStore();
  const immediate = options.immediate ?? true;
  const data = ref(initial) as Ref<T>;
  const loading = ref(immediate);
  const error = ref('');
  let latest = 0;

  async function reload(): Promise<void> {
    const mine = ++latest;
    loading.value = true;
    try {
      const value = await load();
      if (mine !== latest) return;
      data.value = value;
      error.value = '';
    } catch (e) {
      if (mine !== latest) return;
      error.value = errorText(e);
      if (options.onError) options.onError(e);
      else ui.error(e);
    } finally {
      if (mine === latest) loading.value = false;
    }
  }

  if (immediate) onMounted(reload);
  return { data, loading, error, reload };
}
