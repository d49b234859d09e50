import type { Syscalls } from './syscalls.js';

/**
 * Offload (`prog_ifindex`, `map_ifindex`): a program or map created for one network device
 * whose driver runs BPF itself (a SmartNIC), instead of for the host. The kernel checks the
 * device; this module only validates the number and names the device in error messages.
 */

/** True for a value the kernel could take as an ifindex: a positive u32. */
export function isIfindex(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 0xffff_ffff;
}

/**
 * The device as a sentence names it: `interface 'veth0' (ifindex 7)`, or the bare index when no
 * interface of this network namespace has it (the kernel looks it up in the same namespace).
 */
export function offloadDeviceLabel(sys: Syscalls, ifindex: number): string {
  const name = sys.interfaceName(ifindex);
  return name === undefined ? `ifindex ${ifindex} (no interface of this network namespace has it)` : `interface '${name}' (ifindex ${ifindex})`;
}
