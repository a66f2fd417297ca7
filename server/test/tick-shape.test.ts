import { describe, expect, it } from 'vitest';
import { keptTickRecord } from '../src/lib/tick-shape.js';

describe('the kept next-tick record', () => {
  it('is a record process.nextTick made (its callback and arguments), taken at the first tick', async () => {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    const record = keptTickRecord() as { callback?: unknown; args?: unknown } | null;
    expect(record).not.toBeNull();
    expect(typeof record?.callback).toBe('function');
    expect(Object.keys(record as object)).toEqual(['callback', 'args']);
    // its async ids are symbol-keyed, as nextTick writes them (Node 24 adds its context frame)
    expect(Object.getOwnPropertySymbols(record as object).map(String)).toEqual(
      expect.arrayContaining(['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)']),
    );
  });
});
