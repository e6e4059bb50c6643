/**
 * What the poller and the engine need to hold leases: the work an instance does is leased in
 * the store, so that among instances sharing it each material is checked, and each run
 * advanced, by one of them. A lone server holds leases too (as `localLeases`), so that both
 * modes keep the same bookkeeping and a restarted server takes its own work back at once.
 */
export interface LeaseHolder {
  /** This instance's id: the owner of its leases. */
  readonly id: string;
  /** Lease time; an instance silent for this long is taken for stopped. */
  readonly leaseMs: number;
  /** When a lease taken now expires (epoch ms), unless renewed. */
  leaseUntil(): number;
}

/** The leases of a server that shares its store with nobody (the null object). */
export function localLeases(id = 'local', leaseMs = 30_000): LeaseHolder {
  return { id, leaseMs, leaseUntil: () => Date.now() + leaseMs };
}
