import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { type SingleFlight, singleFlight } from '../single-flight.ts';
import type { Store } from '../store/store.ts';
import type { LeaseHolder } from './lease-holder.ts';

/** Options of an instance. */
export interface InstanceOptions {
  store: Store;
  id: string;
  logger: Logger;
  /** Lease time: how long work of a stopped instance waits before others take it; default 30 s. */
  leaseMs?: number;
  /** Called on every heartbeat: leases are renewed and orphaned work taken over here. */
  onHeartbeat?: () => Promise<void>;
}

/**
 * One server process among those sharing a store: announces itself, beats every third of the
 * lease time (the poller and the engine renew the leases of the work they hold then), and takes
 * its own leases back after a restart.
 */
export class Instance implements LeaseHolder {
  readonly id: string;
  readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: InstanceOptions) {
    this.id = options.id;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  leaseUntil(): number {
    return Date.now() + this.leaseMs;
  }

  /** Registers the instance; leases it held before a restart are released first. */
  async start(info: { url: string; version: string }): Promise<void> {
    const { store } = this.options;
    await store.releaseLeases(this.id);
    await store.registerInstance(
      { id: this.id, host: hostname(), pid: process.pid, url: info.url, version: info.version },
      Date.now(),
    );
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** One heartbeat now (also run on the timer). */
  readonly beat: SingleFlight = singleFlight(() => this.beatOnce());

  private async beatOnce(): Promise<void> {
    try {
      await this.options.store.heartbeat(this.id, Date.now());
      await this.options.onHeartbeat?.();
    } catch (error) {
      this.options.logger.error({ err: error, instance: this.id }, 'heartbeat failed');
    }
  }

  /** A clean stop: leases released at once, so others need not wait for them to expire. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beat.current;
    await this.options.store.retireInstance(this.id);
  }
}

/**
 * The instance id: `HOIST_INSTANCE_ID`, or one made once and kept in the data folder, so that a
 * restarted instance recognises its own leases.
 */
export async function loadInstanceId(dataDir: string, env = process.env): Promise<string> {
  if (env.HOIST_INSTANCE_ID) return env.HOIST_INSTANCE_ID;
  const file = join(dataDir, 'instance-id');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const id = `${hostname()}-${randomBytes(4).toString('hex')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${id}\n`, { mode: 0o644 });
  return id;
}
