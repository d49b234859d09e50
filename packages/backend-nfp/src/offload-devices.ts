import { readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Drivers whose devices run offloaded BPF programs on packets (netdevsim only pretends to, and is not listed). */
export const OFFLOAD_DRIVERS: readonly string[] = Object.freeze(['nfp']);

/** A network interface whose driver offloads BPF programs. */
export interface OffloadDevice {
  readonly name: string;
  readonly driver: string;
}

/**
 * The interfaces of the network namespace sysfs was mounted in whose driver is an offload
 * driver, read from `/sys/class/net/<if>/device/driver`. Virtual interfaces (veth, bridges)
 * have no `device` and are never listed.
 */
export function findOffloadDevices(sysClassNet = '/sys/class/net'): OffloadDevice[] {
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return [];
  }
  const found: OffloadDevice[] = [];
  for (const name of names.sort()) {
    let driver: string;
    try {
      driver = basename(readlinkSync(join(sysClassNet, name, 'device', 'driver')));
    } catch {
      continue;
    }
    if (OFFLOAD_DRIVERS.includes(driver)) found.push({ name, driver });
  }
  return found;
}
