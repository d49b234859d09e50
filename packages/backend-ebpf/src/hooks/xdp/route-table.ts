import { KernelMap } from '../../maps/kernel-map.js';
import { MapType, UpdateFlag } from '../../syscalls/bpf-constants.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { ROUTE_VALUE_SIZE } from './dispatcher-program.js';
import { DISPATCHER_SLOTS } from './dispatcher-location.js';

/** Where the dispatcher sends a port: its policy slot, and the RX queue it serves plus one (0: every queue). */
export interface Route {
  readonly slot: number;
  readonly queue: number;
}

/**
 * A dispatcher's `routes` hash read and written as routes (UDP destination port as a
 * little-endian u32 -> slot and queue field, see `ROUTE_VALUE_SIZE`). It borrows the map:
 * whoever made the table closes the map.
 */
export class RouteTable {
  readonly map: KernelMap;
  readonly #key = new Uint8Array(4);
  readonly #value = new Uint8Array(ROUTE_VALUE_SIZE);

  constructor(map: KernelMap) {
    this.map = map;
  }

  /** A new, empty routes hash with room for one route per slot. */
  static createMap(sys: Syscalls): KernelMap {
    return KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: ROUTE_VALUE_SIZE, maxEntries: DISPATCHER_SLOTS, name: 'syrup_routes' }, { sys });
  }

  /** Whether `map` has the shape of a routes hash (a pin may hold anything). */
  static fits(map: KernelMap): boolean {
    return map.spec.type === MapType.HASH && map.spec.keySize === 4 && map.spec.valueSize === ROUTE_VALUE_SIZE;
  }

  routeOf(port: number): Route | undefined {
    const value = this.map.lookup(this.#keyOf(port));
    return value === undefined ? undefined : decodeRoute(value);
  }

  /** Routes `port` to `slot`, for one RX `queue` or (undefined) every queue. */
  route(port: number, slot: number, queue: number | undefined): void {
    const value = new DataView(this.#value.buffer);
    value.setUint32(0, slot, true);
    value.setUint32(4, queue === undefined ? 0 : queue + 1, true);
    this.map.update(this.#keyOf(port), this.#value, UpdateFlag.ANY);
  }

  unroute(port: number): void {
    this.map.delete(this.#keyOf(port));
  }

  /** Whether no port is routed. */
  get empty(): boolean {
    return this.map.nextKey() === undefined;
  }

  /** Every route in the kernel's map, by port (bounded: a map changing meanwhile cannot loop it). */
  all(): Map<number, Route> {
    const out = new Map<number, Route>();
    let key: Uint8Array | undefined;
    for (let n = 0; n <= DISPATCHER_SLOTS * 2 && (key = this.map.nextKey(key)) !== undefined; n++) {
      const value = this.map.lookup(key);
      if (value === undefined) continue;
      out.set(new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0, true), decodeRoute(value));
    }
    return out;
  }

  #keyOf(port: number): Uint8Array {
    new DataView(this.#key.buffer).setUint32(0, port, true);
    return this.#key;
  }
}

function decodeRoute(value: Uint8Array): Route {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { slot: view.getUint32(0, true), queue: view.getUint32(4, true) };
}
