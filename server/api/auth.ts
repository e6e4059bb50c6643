import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '../config/schema.ts';

/** Who a request is. */
export interface Principal {
  name: string;
  role: Role;
  groups: string[];
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Does `role` include everything `needed` may do? */
export function allows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Bearer tokens, kept only as sha256 digests. */
export class TokenTable {
  private readonly byDigest = new Map<string, Principal & { digest: Buffer }>();

  /** Replaces the table (at start, and when the configuration is applied again). */
  set(tokens: { name: string; role: Role; token: string; groups?: string[] }[]): void {
    this.byDigest.clear();
    for (const t of tokens) {
      const digest = sha256(t.token);
      this.byDigest.set(digest.toString('hex'), {
        name: t.name,
        role: t.role,
        groups: t.groups ?? [],
        digest,
      });
    }
  }

  /** The principal of an `Authorization` header, or undefined. */
  authenticate(header: string | undefined): Principal | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) return undefined;
    const digest = sha256(match[1] as string);
    const found = this.byDigest.get(digest.toString('hex'));
    // The map lookup is on a digest the caller cannot steer; compare the digests in constant time too.
    if (!found || !timingSafeEqual(found.digest, digest)) return undefined;
    return { name: found.name, role: found.role, groups: found.groups };
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
