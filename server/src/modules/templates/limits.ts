// Length bounds of templates and their info fields: the route schemas enforce them, and the web UI
// imports this file (no imports of its own) to show the same limits at its inputs.
export const TEMPLATE_LIMITS = {
  name: 100,
  description: 2000,
  fieldName: 64,
  fieldDescription: 2000,
  fieldValue: 4000,
} as const;

/** Info field names the key import writes itself (`<prefix>_token`), compared without letter case. */
export const RESERVED_FIELD_NAMES = ['token'] as const;
