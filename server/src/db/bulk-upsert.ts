// Bulk upserts for the metering flushes, which write thousands of rows a round: Kysely builds the
// statement's tree once per row count and dialect, and every later chunk of that size binds its
// values to the same text (on SQLite that is also one prepared statement, see dialect.ts).
// Building the tree for each value again cost more CPU than the database's own work.
import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

export class BulkUpsert<R extends Record<string, unknown>> {
  /** statement text by dialect adapter class and row count */
  private readonly texts = new Map<unknown, Map<number, string>>();

  /**
   * @param columns the order in which `build` lists the columns (its parameters are bound in
   *   row order, and within a row in this order)
   * @param build the statement for these rows, built with the query builder
   */
  constructor(
    private readonly columns: readonly (keyof R & string)[],
    // biome-ignore lint/suspicious/noExplicitAny: callers narrow the database type themselves
    private readonly build: (k: Kysely<any>, rows: R[]) => Compilable,
    private readonly chunk = 1000,
  ) {}

  // biome-ignore lint/suspicious/noExplicitAny: any Kysely or transaction
  async run(k: Kysely<any>, rows: readonly R[]): Promise<void> {
    const adapter = k.getExecutor().adapter.constructor;
    let texts = this.texts.get(adapter);
    if (texts === undefined) {
      texts = new Map();
      this.texts.set(adapter, texts);
    }
    const cols = this.columns;
    for (let i = 0; i < rows.length; i += this.chunk) {
      const part = rows.slice(i, i + this.chunk);
      const params: unknown[] = new Array(part.length * cols.length);
      let p = 0;
      for (const r of part) for (const c of cols) params[p++] = r[c];
      let text = texts.get(part.length);
      if (text === undefined) {
        const compiled = this.build(k, part).compile();
        // the binding order above must be the builder's, or values would land in wrong columns
        if (compiled.parameters.length !== params.length || compiled.parameters.some((v, j) => v !== params[j]))
          throw new Error(`BulkUpsert: the statement's parameters are not in the order ${cols.join(', ')}`);
        text = compiled.sql;
        texts.set(part.length, text);
      }
      await k.executeQuery(CompiledQuery.raw(text, params));
    }
  }
}
