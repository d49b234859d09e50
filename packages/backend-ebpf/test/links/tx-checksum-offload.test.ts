import { expect, it } from 'vitest';
import { LinkError } from '../../src/links/link-error.js';
import { setTxChecksumOffload, txChecksumOffload } from '../../src/links/tx-checksum-offload.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

function linkError(action: () => unknown): LinkError {
  try {
    action();
  } catch (error) {
    if (error instanceof LinkError) return error;
    throw error;
  }
  throw new Error('expected a LinkError');
}

it('switches an interface\'s tx checksum offload through SIOCETHTOOL and reads it back, closing its socket', () => {
  const sys = new FakeSyscalls();
  sys.interfaces.set('veth0', 7);
  const before = sys.openFds();
  expect(txChecksumOffload('veth0', { sys })).toBe(true);
  setTxChecksumOffload('veth0', false, { sys });
  expect(sys.txChecksumOff.has('veth0')).toBe(true);
  expect(txChecksumOffload('veth0', { sys })).toBe(false);
  setTxChecksumOffload('veth0', true, { sys });
  expect(txChecksumOffload('veth0', { sys })).toBe(true);
  expect(sys.count('ioctl')).toBe(5);
  expect(sys.openFds()).toEqual(before);
});

it('names a missing interface in one sentence, and refuses a name the kernel could not hold before any call', () => {
  const sys = new FakeSyscalls();
  const missing = linkError(() => setTxChecksumOffload('nope0', false, { sys }));
  expect(missing.code).toBe('INTERFACE_NOT_FOUND');
  expect(missing.message).toBe("there is no network interface 'nope0'.");
  const long = linkError(() => setTxChecksumOffload('a-name-far-too-long', false, { sys }));
  expect(long.code).toBe('INTERFACE_NOT_FOUND');
  expect(sys.count('ioctl')).toBe(1);
  expect(sys.openFds()).toEqual([]);
});

it('reports a refused setting with the errno and the interface', () => {
  const sys = new FakeSyscalls();
  sys.interfaces.set('veth0', 7);
  sys.failNext('ioctl', 1);
  const refused = linkError(() => setTxChecksumOffload('veth0', false, { sys }));
  expect(refused.code).toBe('OFFLOAD_SETTING_FAILED');
  expect(refused.message).toBe("cannot turn off the tx checksum offload of 'veth0' (EPERM).");
});
