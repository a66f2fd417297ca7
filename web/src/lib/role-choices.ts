// The project's roles as choices for people (invite, member roles): only an owner may grant or
// remove the owner role, so for anyone else it is shown but disabled, with the reason.
import { computed } from 'vue';
import { useI18n } from 'vue-i18n';
import { useProjectStore } from '../stores/project.js';

export function useRoleChoices() {
  const { t } = useI18n();
  const store = useProjectStore();
  const items = computed(() =>
    store.roles.map((r) => {
      const locked = r.is_owner && !store.isOwner;
      return {
        value: r.id,
        title: r.name,
        props: { disabled: locked, subtitle: locked ? t('members.ownerRoleLocked') : undefined },
      };
    }),
  );
  const roleName = (id: number) => store.roles.find((r) => r.id === id)?.name ?? `#${id}`;
  return { items, roleName };
}
