import { nextFiring, type TimerSpec } from '../config/cron.ts';
import type { Logger } from '../logger.ts';
import type { PipelineRow } from '../store/store.ts';
import { definitionOf } from './definition.ts';
import type { TimerOutcome } from './scheduler.ts';

/** What the timers need. */
export interface TimersOptions {
  /** The pipelines, read at start, on every change announced, and every `refreshMs`. */
  pipelines: () => Promise<PipelineRow[]>;
  /** Schedules a pipeline for its firing at `at` (ISO). */
  fire: (name: string, at: string) => Promise<TimerOutcome>;
  logger: Logger;
  /** The clock (epoch ms). */
  now?: () => number;
  /** How often pipelines are read again, for changes made on other instances; 10 s. */
  refreshMs?: number;
}

/** A timer's last firing: when (its scheduled time), and the run it scheduled or why none. */
export interface LastTimer {
  at: string;
  outcome: 'scheduled' | `skipped: ${string}`;
  counter?: number;
  by?: 'another instance';
}

/** What the API shows of a pipeline's timer. */
export interface TimerView {
  nextTimer?: string | null;
  lastTimer?: LastTimer;
}

interface Armed {
  spec: string;
  next: Date | null;
  handle?: NodeJS.Timeout;
}

/** `setTimeout` waits at most this long; a later firing is armed again when this passes. */
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * Arms the next firing of every pipeline with a timer, and fires it (each instance does: the
 * firing's trigger key makes it one run across instances). Firings missed while the server was
 * not running are not caught up. Re-armed when pipelines change; stopped with the server.
 */
export class Timers {
  private readonly armed = new Map<string, Armed>();
  private readonly last = new Map<string, LastTimer>();
  private refresher: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped on every change of what `view` shows (for cached answers). */
  version = 0;
  private readonly now: () => number;

  constructor(private readonly options: TimersOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher = setInterval(() => {
      this.refresh().catch((error) =>
        this.options.logger.error({ err: error }, 'could not read the pipelines’ timers'),
      );
    }, this.options.refreshMs ?? 10_000);
    this.refresher.unref();
  }

  /** Reads the pipelines again: arms new and changed timers, disarms removed ones. */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map<string, TimerSpec>();
    for (const row of await this.options.pipelines()) {
      const timer = definitionOf(row).timer;
      if (timer) wanted.set(row.name, timer);
    }
    for (const [name, armed] of this.armed) {
      const spec = wanted.get(name);
      if (!spec || JSON.stringify(spec) !== armed.spec) this.disarm(name);
    }
    for (const [name, spec] of wanted) {
      if (!this.armed.has(name)) this.arm(name, spec, this.now());
    }
  }

  /** When the pipeline's timer fires next, and what its last firing did. */
  view(name: string): TimerView {
    const armed = this.armed.get(name);
    const last = this.last.get(name);
    return {
      ...(armed ? { nextTimer: armed.next?.toISOString() ?? null } : {}),
      ...(last ? { lastTimer: last } : {}),
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.refresher) clearInterval(this.refresher);
    for (const name of [...this.armed.keys()]) this.disarm(name);
  }

  private disarm(name: string): void {
    const armed = this.armed.get(name);
    if (armed?.handle) clearTimeout(armed.handle);
    this.armed.delete(name);
    this.version++;
  }

  /** Arms the first firing after `after` (epoch ms). */
  private arm(name: string, spec: TimerSpec, after: number): void {
    if (this.stopped) return;
    const next = nextFiring(spec, new Date(after));
    const armed: Armed = { spec: JSON.stringify(spec), next };
    this.armed.set(name, armed);
    this.version++;
    this.options.logger.debug(
      { pipeline: name, next: next?.toISOString() ?? null },
      next ? 'timer armed' : 'timer never fires again',
    );
    if (next) this.wait(name, spec, armed, next);
  }

  private wait(name: string, spec: TimerSpec, armed: Armed, at: Date): void {
    const delay = at.getTime() - this.now();
    armed.handle = setTimeout(
      () => {
        if (this.armed.get(name) !== armed) return;
        // Timers may wake a little early, and long waits are cut: wait for the rest.
        if (at.getTime() > this.now()) this.wait(name, spec, armed, at);
        else void this.fire(name, spec, armed, at);
      },
      Math.min(Math.max(delay, 0), MAX_WAIT_MS),
    );
    armed.handle.unref();
  }

  private async fire(name: string, spec: TimerSpec, armed: Armed, at: Date): Promise<void> {
    const { logger } = this.options;
    const iso = at.toISOString();
    let last: LastTimer;
    try {
      const result = await this.options.fire(name, iso);
      last =
        result.outcome === 'scheduled'
          ? {
              at: iso,
              outcome: 'scheduled',
              ...(result.counter === undefined
                ? { by: 'another instance' }
                : { counter: result.counter }),
            }
          : { at: iso, outcome: result.outcome };
    } catch (error) {
      last = {
        at: iso,
        outcome: `skipped: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    this.last.set(name, last);
    this.version++;
    const said =
      last.counter === undefined
        ? last.by
          ? `scheduled by ${last.by}`
          : last.outcome
        : `scheduled run ${last.counter}`;
    logger.info({ pipeline: name, ...last }, `timer fired: ${said}`);
    // The next firing after this one (or after now, when scheduling took longer than a period).
    if (this.armed.get(name) === armed) this.arm(name, spec, Math.max(at.getTime(), this.now()));
  }
}
