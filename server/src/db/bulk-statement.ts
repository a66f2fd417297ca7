// Statements over many rows (the metering flushes' upserts, the quota's lookups): Kysely builds a
// statement's tree once per row count and dialect, and every later chunk of that size binds its
// values to the same text (on SQLite also one prepared statement, see dialect.ts). Building the
// tree for each batch again cost more CPU than the database's own work. A batch is cut into full
// chunks and then descending powers of two, so a dozen texts serve every batch size.
import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

/** The sizes a batch of `n` rows is cut into: full chunks, then descending powers of two. */
export function chunkSizes(n: number, chunk: number): number[] {
  const sizes: number[] = [];
  let left = n;
  for (; left >= chunk; left -= chunk) sizes.push(chunk);
  for (let p = 2 ** Math.floor(Math.log2(Math.max(left, 1))); left > 0; p /= 2) {
    if (left >= p) {
      sizes.push(p);
      left -= p;
    }
  }
  return sizes;
}

/** Parameters of a chunk in the order its statement binds them. */
export type Binder<R> = (rows: readonly R[], fixed: readonly unknown[]) => unknown[];

/** The `fixed` values, then each row's values in this column order (rows in order). */
export function rowMajor<R extends Record<string, unknown>>(columns: readonly (keyof R & string)[]): Binder<R> {
  return (rows, fixed) => {
    const params: unknown[] = new Array(fixed.length + rows.length * columns.length);
    let p = 0;
    for (const v of fixed) params[p++] = v;
    for (const r of rows) for (const c of columns) params[p++] = r[c];
    return params;
  };
}

export class BulkStatement<R extends Record<string, unknown>, O = unknown> {
  /** statement text by dialect adapter class and row count */
  private readonly texts = new Map<unknown, Map<number, string>>();
  /** how many statement trees were built (each row count once per dialect) */
  builds = 0;
  private readonly bind: Binder<R>;

  /**
   * @param bind the order in which `build` binds the rows' values: a column list (`rowMajor`,
   *   after the `fixed` values given to `run`) or a function
   * @param build the statement for these rows, built with the query builder
   */
  constructor(
    bind: Binder<R> | readonly (keyof R & string)[],
    // biome-ignore lint/suspicious/noExplicitAny: callers narrow the database type themselves
    private readonly build: (k: Kysely<any>, rows: R[], fixed: readonly unknown[]) => Compilable<O>,
    private readonly chunk = 1000,
  ) {
    this.bind = typeof bind === 'function' ? bind : rowMajor(bind);
  }

  /** Runs the statement over `rows`, chunk by chunk, and returns the rows every chunk answered. */
  // biome-ignore lint/suspicious/noExplicitAny: any Kysely or transaction
  async run(k: Kysely<any>, rows: readonly R[], fixed: readonly unknown[] = []): Promise<O[]> {
    const adapter = k.getExecutor().adapter.constructor;
    let texts = this.texts.get(adapter);
    if (texts === undefined) {
      texts = new Map();
      this.texts.set(adapter, texts);
    }
    const out: O[] = [];
    let i = 0;
    for (const size of chunkSizes(rows.length, this.chunk)) {
      const part = rows.slice(i, i + size);
      i += size;
      const params = this.bind(part, fixed);
      let text = texts.get(size);
      if (text === undefined) {
        this.builds += 1;
        const compiled = this.build(k, part, fixed).compile();
        // the binding order above must be the builder's, or values would land in wrong columns
        if (compiled.parameters.length !== params.length || compiled.parameters.some((v, j) => v !== params[j]))
          throw new Error("BulkStatement: the statement's parameters are not in the declared order");
        text = compiled.sql;
        texts.set(size, text);
      }
      const result = await k.executeQuery<O>(CompiledQuery.raw(text, params));
      for (const r of result.rows) out.push(r);
    }
    return out;
  }
}
