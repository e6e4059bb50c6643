import { describe, expect, it } from 'vitest';
import { singleFlight } from './single-flight.ts';

describe('server/single-flight', () => {
  it('shares a run in progress, and starts a new one once it is over', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const task = singleFlight(async () => {
      runs++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const first = task();
    const second = task();
    expect(second).toBe(first);
    expect(task.current).toBe(first);
    release();
    await first;
    expect(task.current).toBeUndefined();
    const third = task();
    expect(third).not.toBe(first);
    release();
    await third;
    expect(runs).toBe(2);
  });

  it('starts again after a task that finished without awaiting', async () => {
    let runs = 0;
    const task = singleFlight(async () => {
      runs++;
    });
    await task();
    await task();
    expect(runs).toBe(2);
  });
});
