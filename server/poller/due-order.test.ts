import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byDueTime } from './due-order.ts';

describe('byDueTime', () => {
  it('yields every entry, earliest due first (ties in any order)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 })), (times) => {
        const items = times.map((dueAt, id) => ({ dueAt, id }));
        const out = [...byDueTime([...items])];
        expect(out.map((e) => e.dueAt)).toEqual([...times].sort((a, b) => a - b));
        expect(new Set(out.map((e) => e.id)).size).toBe(items.length);
      }),
    );
  });

  it('may be left part-way: only the first few are ordered', () => {
    const items = [5, 3, 9, 1, 7].map((dueAt) => ({ dueAt }));
    const order = byDueTime(items);
    expect([order.next().value?.dueAt, order.next().value?.dueAt]).toEqual([1, 3]);
  });
});
