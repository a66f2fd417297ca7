/** The list with `item` in place of the entry of the same id. */
export const replaceById = <T extends { id: number }>(list: T[], item: T): T[] =>
  list.map((x) => (x.id === item.id ? item : x));
