/** A min-heap of items by `at` (ties: first pushed first). */
export class MinHeap<T> {
  private readonly items: { at: number; seq: number; value: T }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(at: number, value: T): void {
    const items = this.items;
    items.push({ at, seq: this.seq++, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest item, left in place. */
  peek(): { at: number; value: T } | undefined {
    return this.items[0];
  }

  /** Takes the earliest item out. */
  pop(): { at: number; value: T } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.less(left, least)) least = left;
      if (right < items.length && this.less(right, least)) least = right;
      if (least === i) break;
      this.swap(i, least);
      i = least;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a] as { at: number; seq: number };
    const y = this.items[b] as { at: number; seq: number };
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const items = this.items;
    [items[a], items[b]] = [items[b] as (typeof items)[number], items[a] as (typeof items)[number]];
  }
}

/**
 * Due work per host, each host's in order of due time, so that finding the next check to start
 * costs a look at each host's earliest item instead of a pass over every material. Items are
 * not removed when their work changes: `current` says whether an item still stands (its due
 * time unchanged, not running, still known), and stale items are dropped as they surface.
 */
export class DueQueue<T> {
  private readonly hosts = new Map<string, MinHeap<T>>();

  constructor(private readonly current: (value: T, at: number, host: string) => boolean) {}

  /** Queues `value`, due at `at`, on `host` (a value queued again keeps only its current item). */
  push(host: string, at: number, value: T): void {
    if (!Number.isFinite(at)) return;
    let heap = this.hosts.get(host);
    if (!heap) {
      heap = new MinHeap<T>();
      this.hosts.set(host, heap);
    }
    heap.push(at, value);
  }

  /**
   * The earliest current item due by `now` on a host that `hasRoom`, taken out; `next` is
   * the earliest due time after `now` among hosts with room (Infinity: none).
   */
  take(
    now: number,
    hasRoom: (host: string) => boolean,
  ): { value?: T; host?: string; next: number } {
    let best: { at: number; host: string; heap: MinHeap<T> } | undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const [host, heap] of this.hosts) {
      const top = this.top(host, heap);
      if (top === undefined) continue;
      if (!hasRoom(host)) continue;
      if (top.at > now) {
        if (top.at < next) next = top.at;
        continue;
      }
      if (!best || top.at < best.at) best = { at: top.at, host, heap };
    }
    if (!best) return { next };
    const item = best.heap.pop() as { value: T };
    return { value: item.value, host: best.host, next };
  }

  /** Items queued, stale ones included (for tests and metrics). */
  get size(): number {
    let size = 0;
    for (const heap of this.hosts.values()) size += heap.size;
    return size;
  }

  /** The host's earliest current item; stale ones above it are dropped, an empty host forgotten. */
  private top(host: string, heap: MinHeap<T>): { at: number; value: T } | undefined {
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (this.current(top.value, top.at, host)) return top;
      heap.pop();
    }
    this.hosts.delete(host);
    return undefined;
  }
}
