import {
  Add,
  And,
  JEq,
  JGT,
  JLT,
  JNE,
  LSh,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  R10,
  Sub,
  call,
  exit,
  ja,
  label,
  loadMapPtr,
  loadMem,
  storeMem,
  toBigEndian,
  type AsmItem,
} from '../../asm/index.js';

/** Symbolic names of the dispatcher's maps in its instructions. */
export const DISPATCHER_MAP_NAMES = Object.freeze({ routes: 'routes', policies: 'policies' });

/**
 * A route's value in the dispatcher's `routes` hash (key: the UDP destination port as a u32):
 * the policy's slot in the `policies` program array, and the RX queue it serves plus one, or
 * 0 for every queue.
 */
export const ROUTE_VALUE_SIZE = 8;

const XDP_PASS = 2;
const XDP_MD_RX_QUEUE_INDEX = 16;
const ETH_HEADER = 14;
/** EtherTypes as a little-endian u16 read of network-order bytes. */
const ETH_P_IP_RAW = 0x0008;
const ETH_P_IPV6_RAW = 0xdd86;
const ETH_P_8021Q_RAW = 0x0081;
const ETH_P_8021AD_RAW = 0xa888;
/** The 13 fragment-offset bits of the IPv4 flags word, as a little-endian read sees them. */
const IPV4_FRAGMENT_OFFSET_RAW = 0xff1f;
const IPPROTO_UDP = 17;

/**
 * The root program of an interface (the multi-tenant XDP dispatcher). It parses Ethernet
 * (at most one VLAN tag), IPv4 with options (first fragments only) or IPv6 without extension
 * headers, then UDP, looks the destination port up in `routes`, and tail-calls the policy in
 * that route's `policies` slot. Everything else passes untouched: other protocols, ports no
 * policy serves, frames that arrived on another queue than a route bound to one, and a slot
 * left empty (a failed tail call falls through).
 *
 * The policy's own prologue parses the frame again and checks the port too: the dispatcher
 * only picks whose policy runs, so tenants never see each other's inputs.
 *
 * r6 holds the context, r7 walks the headers (the IP header is at r7 + 14 once past the link
 * layer, the UDP header at r7 + 14 once past IP), r8 is data_end.
 */
export function dispatcherInstructions(): AsmItem[] {
  const bound = (bytes: number): AsmItem[] => [Mov.reg(R2, R7), Add.imm(R2, bytes), JGT.reg(R2, R8, 'pass')];
  return [
    Mov.reg(R6, R1),
    loadMem(R7, R6, 0, 'W'),
    loadMem(R8, R6, 4, 'W'),
    ...bound(ETH_HEADER),
    loadMem(R3, R7, 12, 'H'),
    JEq.imm(R3, ETH_P_8021Q_RAW, 'vlan'),
    JNE.imm(R3, ETH_P_8021AD_RAW, 'network'),
    label('vlan'),
    ...bound(ETH_HEADER + 4),
    loadMem(R3, R7, 16, 'H'),
    Add.imm(R7, 4),
    label('network'),
    JEq.imm(R3, ETH_P_IPV6_RAW, 'ipv6'),
    JNE.imm(R3, ETH_P_IP_RAW, 'pass'),
    // IPv4 at r7 + 14.
    ...bound(ETH_HEADER + 20),
    loadMem(R3, R7, ETH_HEADER, 'B'),
    loadMem(R4, R7, ETH_HEADER + 9, 'B'),
    JNE.imm(R4, IPPROTO_UDP, 'pass'),
    loadMem(R4, R7, ETH_HEADER + 6, 'H'),
    And.imm(R4, IPV4_FRAGMENT_OFFSET_RAW),
    JNE.imm(R4, 0, 'pass'),
    // IHL in 32-bit words, 5..15: the verifier sees r3 in [20, 60] after the shift.
    And.imm(R3, 0x0f),
    JLT.imm(R3, 5, 'pass'),
    LSh.imm(R3, 2),
    Add.reg(R7, R3),
    ja('udp'),
    // IPv6 at r7 + 14.
    label('ipv6'),
    ...bound(ETH_HEADER + 40),
    loadMem(R4, R7, ETH_HEADER + 6, 'B'),
    JNE.imm(R4, IPPROTO_UDP, 'pass'),
    Add.imm(R7, 40),
    // UDP at r7 + 14.
    label('udp'),
    ...bound(ETH_HEADER + 8),
    loadMem(R2, R7, ETH_HEADER + 2, 'H'),
    toBigEndian(R2, 16),
    storeMem(R10, -4, R2, 'W'),
    loadMapPtr(R1, DISPATCHER_MAP_NAMES.routes),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, 'pass'),
    loadMem(R3, R0, 0, 'W'),
    loadMem(R4, R0, 4, 'W'),
    JEq.imm(R4, 0, 'dispatch'),
    Sub.imm(R4, 1),
    loadMem(R5, R6, XDP_MD_RX_QUEUE_INDEX, 'W'),
    JNE.reg(R5, R4, 'pass'),
    label('dispatch'),
    Mov.reg(R1, R6),
    loadMapPtr(R2, DISPATCHER_MAP_NAMES.policies),
    call('tail_call'),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}
