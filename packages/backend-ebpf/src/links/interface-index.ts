import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { LinkError } from './link-error.js';

/**
 * The index of network interface `name` in the calling thread's network namespace
 * (if_nametoindex(3), which asks the kernel through a socket of that namespace; sysfs would
 * answer for the namespace it was mounted in instead).
 */
export function interfaceIndex(name: string, options: { sys?: Syscalls } = {}): number {
  const sys = options.sys ?? nativeSyscalls();
  if (name === '' || name.length > 15 || name.includes('/')) {
    throw new LinkError('INTERFACE_NOT_FOUND', `'${name}' is not a valid interface name (1 to 15 characters, no '/').`);
  }
  const index = sys.interfaceIndex(name);
  if (index === 0) throw new LinkError('INTERFACE_NOT_FOUND', `there is no network interface '${name}' in this network namespace.`);
  return index;
}
