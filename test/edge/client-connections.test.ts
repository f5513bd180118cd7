// Which connections count as one client for edge.limits.maxConnectionsPerClient:
// an IPv4 address, or an IPv6 /64 (one host can hold every address of its /64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey } from '../../edge/client-connections.js';

test('IPv4 addresses are counted one by one', () => {
  assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
  assert.notEqual(clientKey('203.0.113.7'), clientKey('203.0.113.8'));
});

test('IPv6 addresses are counted per /64, whatever their spelling', () => {
  const cases: [string, string][] = [
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['2001:db8:1::192.0.2.1', '2001:db8:1:0::/64'],
  ];
  for (const [address, key] of cases) assert.equal(clientKey(address), key, address);
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'), 'the next /64 is another client');
});
