import { expect, it } from 'vitest';
import { ReuseportSockArray } from '../../../src/maps/system/reuseport-sock-array.js';
import type { SystemMapError } from '../../../src/maps/system/system-map-error.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { boundPort, reuseportUdpSocket, socketCookie } from '../../support/sockets.js';
import { caught } from '../../support/caught.js';

// Steering datagrams through the array is tested with the group attachment (test/links).
describeKernel('reuseport socket arrays', { needs: ['bpf'] }, () => {
  const sys = nativeSyscalls();

  it('stores sockets, answers their cookies, forgets deleted and closed ones', () => {
    using array = ReuseportSockArray.create({ maxEntries: 4, name: 'sockets' });
    const first = reuseportUdpSocket(sys, 0);
    const second = reuseportUdpSocket(sys, boundPort(first));
    try {
      array.set(0, first);
      array.set(3, second);
      expect(array.get(0)).toBe(socketCookie(sys, first));
      expect(array.get(3)).toBe(socketCookie(sys, second));
      expect(array.get(1)).toBeUndefined();
      expect(array.delete(0)).toBe(true);
      expect(array.delete(0)).toBe(false);
      expect(array.get(0)).toBeUndefined();
      // The entry does not keep the socket: closing it empties the slot.
      second.close();
      expect(array.get(3)).toBeUndefined();
    } finally {
      first.close();
      second.close();
    }
  });

  it('refuses a socket that is not bound, and takes one from another group (selection refuses that later)', () => {
    using array = ReuseportSockArray.create({ maxEntries: 2 });
    using unbound = sys.socket(2, 2, 0);
    const error = caught(() => array.set(0, unbound)) as SystemMapError;
    expect(error.code).toBe('SYSTEM_MAP_UPDATE_FAILED');
    using a = reuseportUdpSocket(sys, 0);
    using b = reuseportUdpSocket(sys, 0);
    array.set(0, a);
    array.set(1, b);
    expect(array.get(1)).toBe(socketCookie(sys, b));
    expect((caught(() => array.get(2)) as SystemMapError).code).toBe('SYSTEM_MAP_INDEX_OUT_OF_RANGE');
  });
});
