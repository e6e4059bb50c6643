import { describe, expect, it } from 'vitest';
import { forbiddenAddress } from './address.ts';

describe('notifications/address', () => {
  it('refuses link-local and metadata addresses, in every spelling', () => {
    for (const address of [
      '169.254.169.254',
      '169.254.0.1',
      '::ffff:169.254.169.254',
      'fe80::1',
      'fe80::1%eth0',
      '[fe80::abcd]',
      'fd00:ec2::254',
      '100.100.100.200',
      '0.0.0.0',
    ])
      expect(forbiddenAddress(address), address).toMatch(/link-local or metadata/);
  });

  it('allows loopback, private and public addresses', () => {
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '8.8.8.8', '2001:db8::1'])
      expect(forbiddenAddress(address), address).toBeUndefined();
  });
});
