import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may not reach unless its `allowPrivate` is set (pure): link-local ranges,
 * where cloud metadata services answer (169.254.169.254, fd00:ec2::254), and the other known
 * metadata addresses. Loopback and private ranges are allowed: receivers often live inside.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud's metadata
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6'); // AWS's metadata over IPv6
FORBIDDEN.addAddress('0.0.0.0', 'ipv4');
FORBIDDEN.addAddress('::', 'ipv6');

/** Why `address` (an IP) may not be reached, or undefined when it may. */
export function forbiddenAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  const ip = mapped ?? bare;
  const family = isIP(ip);
  if (family === 0) return undefined;
  if (FORBIDDEN.check(ip, family === 4 ? 'ipv4' : 'ipv6'))
    return `${address} is a link-local or metadata address (allowPrivate: true allows it)`;
  return undefined;
}
