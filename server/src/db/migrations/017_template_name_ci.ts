// Template names are unique in a project regardless of letter case ("Calculator API" beside
// "calculator api" confuses requesters). The service compares with full Unicode folding; this
// index settles the race of two concurrent writers (SQL lower(): ASCII in SQLite, the database's
// locale in PostgreSQL). Names that already clash keep the oldest as is; later ones get " (2)",
// " (3)"… (the keys issued from them follow, as on a rename).
import { type Kysely, type Migration, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

/** The longest template name the API takes (CreateTemplate.name). */
const MAX_NAME = 100;

export function templateNameCi(): Migration {
  return {
    async up(db: AnyDb) {
      const rows = await db
        .selectFrom('api_key_templates')
        .select(['id', 'project_id', 'name', sql<string>`lower(name)`.as('folded')])
        .orderBy('id')
        .execute();
      // every spelling of a project, folded both ways: a new name must be free in either sense
      const taken = new Map<number, Set<string>>();
      const fold = (n: string) => n.toLocaleLowerCase('und');
      for (const r of rows) {
        const set = taken.get(r.project_id) ?? new Set<string>();
        set.add(r.folded).add(fold(r.name));
        taken.set(r.project_id, set);
      }
      // a later name clashes when it folds like a kept one in SQL (what the index sees) or in full Unicode
      const kept = new Set<string>();
      for (const r of rows) {
        const keys = [`${r.project_id}:sql:${r.folded}`, `${r.project_id}:js:${fold(r.name)}`];
        if (!keys.some((k) => kept.has(k))) {
          for (const k of keys) kept.add(k);
          continue;
        }
        const set = taken.get(r.project_id) as Set<string>;
        let name = '';
        for (let i = 2; ; i++) {
          const suffix = ` (${i})`;
          name = `${r.name.slice(0, MAX_NAME - suffix.length)}${suffix}`;
          const lower = (await sql<{ l: string }>`SELECT lower(${name}) AS l`.execute(db)).rows[0]?.l ?? name;
          if (!set.has(lower) && !set.has(fold(name))) {
            set.add(lower).add(fold(name));
            break;
          }
        }
        await db.updateTable('api_key_templates').set({ name }).where('id', '=', r.id).execute();
        await db.updateTable('api_keys').set({ template_name: name }).where('template_id', '=', r.id).execute();
      }
      await sql`CREATE UNIQUE INDEX api_key_templates_name_ci ON api_key_templates (project_id, lower(name))`.execute(
        db,
      );
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('api_key_templates_name_ci').execute();
    },
  };
}
