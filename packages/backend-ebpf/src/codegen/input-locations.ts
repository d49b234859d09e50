import type { InputField, InputKind } from '@syrup/core';
import type { Frame } from './frame.js';

/**
 * Where the prologues find each input field: the one file of this backend that names a field
 * (`srcPort`, `len`, ...). A prologue asks which of its fields sit at a location and emits the
 * loads of that location; the generator asks which fields a field is computed from and which
 * one bounds the region's loads. A new field is one entry here (and one in core's input-field
 * table); the prologues change only for a location they have never loaded.
 *
 * Locations, relative to the headers the prologue has parsed:
 * - `transport`: the big-endian u16 at `offset` of the UDP or TCP header (the ports).
 * - `udp-length`: the UDP header's length field, less `less` bytes; a length below the 8-byte
 *   header answers PASS before the policy runs.
 * - `ip-address`: the IPv4 source or destination address, or the IPv6 one folded to 32 bits.
 * - `frame-length`: data_end - data of an XDP frame.
 * - `flow-hash`: core's flowHash of the two address and two port fields named, in that order.
 */
export type FieldLocation =
  | { readonly at: 'transport'; readonly offset: number }
  | { readonly at: 'udp-length'; readonly less: number }
  | { readonly at: 'ip-address'; readonly end: 'source' | 'destination' }
  | { readonly at: 'frame-length' }
  | { readonly at: 'flow-hash'; readonly addresses: readonly [InputField, InputField]; readonly ports: readonly [InputField, InputField] };

/** The locations of an input kind's fields at one prologue; a field without one is not offered there. */
export type KindLocations = Readonly<Partial<Record<InputField, FieldLocation>>>;

const FLOW_HASH = Object.freeze({ at: 'flow-hash', addresses: ['srcAddr', 'dstAddr'], ports: ['srcPort', 'dstPort'] } as const);
const ADDRESSES_AND_PORTS = Object.freeze({
  hash: FLOW_HASH,
  srcAddr: { at: 'ip-address', end: 'source' },
  dstAddr: { at: 'ip-address', end: 'destination' },
  srcPort: { at: 'transport', offset: 0 },
  dstPort: { at: 'transport', offset: 2 },
} as const satisfies KindLocations);
const UDP: KindLocations = Object.freeze({ ...ADDRESSES_AND_PORTS, len: { at: 'udp-length', less: 0 }, payloadLength: { at: 'udp-length', less: 8 } });

/** socket-select (sk_reuseport): datagrams and connection requests, from the skb's headers. */
export const SOCKET_SELECT_LOCATIONS: Readonly<Partial<Record<InputKind, KindLocations>>> = Object.freeze({ udp: UDP, tcp: ADDRESSES_AND_PORTS });

/** Every XDP prologue (the hooks, the test harness, the NFP offload): datagrams parsed from the frame, or the frame itself. */
export const XDP_LOCATIONS: Readonly<Partial<Record<InputKind, KindLocations>>> = Object.freeze({ udp: UDP, packet: { length: { at: 'frame-length' } } });

/**
 * The field whose slot bounds the region's loads, by input kind: a datagram's reads stop at
 * its UDP length; a frame's at data_end, which needs no field.
 */
const LOAD_BOUND: Readonly<Partial<Record<InputKind, InputField>>> = Object.freeze({ udp: 'payloadLength' });

/** The field that bounds the loads of an input of `kind`, if one does. */
export function loadBoundField(kind: InputKind): InputField | undefined {
  return LOAD_BOUND[kind];
}

/** What each computed field is computed from, at every prologue: the flow hash, from the addresses and ports. */
const COMPUTED_FROM: Readonly<Partial<Record<InputField, readonly InputField[]>>> = Object.freeze({ hash: [...FLOW_HASH.addresses, ...FLOW_HASH.ports] });

/** True when `field` bounds the loads of some input kind (so comparing it with a constant bounds them too). */
export function isLoadBoundField(field: InputField): boolean {
  return Object.values(LOAD_BOUND).includes(field);
}

/** The fields a prologue computes `field` from, which the frame must hold too. */
export function fieldsComputedFrom(field: InputField): readonly InputField[] {
  return COMPUTED_FROM[field] ?? [];
}

/** A field of the frame at its location, with its slot. */
export interface LocatedSlot {
  readonly location: FieldLocation;
  readonly slot: number;
}

/**
 * The fields of `frame` that `locations` places, in the frame's order (core's table order). A
 * field it does not place is left out, as the prologues always have: the generator only hands
 * a prologue the kinds its target lists, whose fields all have a location here.
 */
export function locatedSlots(frame: Frame, locations: KindLocations): LocatedSlot[] {
  return [...frame.fields].flatMap(([field, slot]) => {
    const location = locations[field];
    return location === undefined ? [] : [{ location, slot }];
  });
}

/** The slot of the field at `ip-address` `end`, if the frame has one. */
export function addressSlot(located: readonly LocatedSlot[], end: 'source' | 'destination'): number | undefined {
  return located.find((l) => l.location.at === 'ip-address' && l.location.end === end)?.slot;
}

/** The flow hash a frame computes, with the slots of what it is computed from; undefined when the policy does not read it. */
export function flowHashSlots(frame: Frame, located: readonly LocatedSlot[]): FlowHashSlots | undefined {
  const hash = located.find((l) => l.location.at === 'flow-hash');
  if (hash === undefined || hash.location.at !== 'flow-hash') return undefined;
  const slot = (field: InputField): number => {
    const s = frame.fields.get(field);
    if (s === undefined) throw new RangeError(`the frame has no slot for input field '${field}', which the flow hash reads`);
    return s;
  };
  const { addresses, ports } = hash.location;
  return { addresses: [slot(addresses[0]), slot(addresses[1])], ports: [slot(ports[0]), slot(ports[1])], hash: hash.slot };
}

/** The slots the flow hash reads (two addresses, two ports, in core's flowHash order) and the one it writes. */
export interface FlowHashSlots {
  readonly addresses: readonly [number, number];
  readonly ports: readonly [number, number];
  readonly hash: number;
}

/** True when any of `fields` sits at an IP address at `locations` (socket-select reads addresses through a scratch buffer). */
export function readsAddresses(fields: ReadonlySet<string>, locations: Readonly<Partial<Record<InputKind, KindLocations>>>): boolean {
  return Object.values(locations).some((kind) => Object.entries(kind ?? {}).some(([field, location]) => location.at === 'ip-address' && fields.has(field)));
}
