import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue, MinHeap } from './due-queue.ts';

interface Item {
  id: number;
  dueAt: number;
  running: boolean;
}

describe('MinHeap', () => {
  it('pops in order of time, ties in the order pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 })), (times) => {
        const heap = new MinHeap<number>();
        for (const [i, at] of times.entries()) heap.push(at, i);
        const popped: [number, number][] = [];
        for (let top = heap.pop(); top; top = heap.pop()) popped.push([top.at, top.value]);
        const expected = times.map((at, i) => [at, i] as [number, number]);
        expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(popped).toEqual(expected);
      }),
    );
  });
});

describe('DueQueue', () => {
  const queueOf = () => new DueQueue<Item>((item, at) => !item.running && item.dueAt === at);

  it('takes the earliest due item of the hosts with room, and says when the next is due', () => {
    const queue = queueOf();
    const a1 = { id: 1, dueAt: 100, running: false };
    const a2 = { id: 2, dueAt: 50, running: false };
    const b1 = { id: 3, dueAt: 70, running: false };
    const later = { id: 4, dueAt: 500, running: false };
    queue.push('a', a1.dueAt, a1);
    queue.push('a', a2.dueAt, a2);
    queue.push('b', b1.dueAt, b1);
    queue.push('b', later.dueAt, later);
    expect(queue.take(200, () => true).value).toBe(a2);
    // Host a has no room: b's earliest goes next, then a's is not offered.
    expect(queue.take(200, (h) => h !== 'a').value).toBe(b1);
    const none = queue.take(200, (h) => h !== 'a');
    expect(none.value).toBeUndefined();
    expect(none.next).toBe(500);
    expect(queue.take(200, () => true).value).toBe(a1);
  });

  it('drops items whose due time changed or that run, and finds the re-queued one', () => {
    const queue = queueOf();
    const item = { id: 1, dueAt: 100, running: false };
    queue.push('a', 100, item);
    item.dueAt = 300;
    queue.push('a', 300, item);
    const early = queue.take(200, () => true);
    expect(early.value).toBeUndefined();
    expect(early.next).toBe(300);
    item.running = true;
    expect(queue.take(400, () => true).value).toBeUndefined();
    item.running = false;
    item.dueAt = 350;
    queue.push('a', 350, item);
    expect(queue.take(400, () => true).value).toBe(item);
    expect(queue.size).toBe(0);
  });

  it('never queues what is never due', () => {
    const queue = queueOf();
    queue.push('a', Number.POSITIVE_INFINITY, {
      id: 1,
      dueAt: Number.POSITIVE_INFINITY,
      running: false,
    });
    expect(queue.size).toBe(0);
  });

  it('takes, at any moment, what a pass over every item would take', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            host: fc.constantFrom('a', 'b', 'c'),
            dueAt: fc.integer({ min: 0, max: 100 }),
            running: fc.boolean(),
            moved: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 0, max: 100 }),
        fc.subarray(['a', 'b', 'c']),
        (specs, now, full) => {
          const queue = queueOf();
          const items = specs.map((s, id) => ({
            id,
            host: s.host,
            dueAt: s.dueAt,
            running: false,
          }));
          for (const item of items) queue.push(item.host, item.dueAt, item);
          specs.forEach((s, i) => {
            const item = items[i] as (typeof items)[number];
            item.running = s.running;
            if (s.moved !== undefined) {
              item.dueAt = s.moved;
              queue.push(item.host, item.dueAt, item);
            }
          });
          const room = (h: string) => !full.includes(h);
          const candidates = items.filter((i) => !i.running && room(i.host) && i.dueAt <= now);
          const earliest = Math.min(...candidates.map((i) => i.dueAt));
          const taken = queue.take(now, room).value;
          if (candidates.length === 0) expect(taken).toBeUndefined();
          else expect(taken?.dueAt).toBe(earliest);
        },
      ),
    );
  });
});
