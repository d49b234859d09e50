import { foldIpv6Address, type PolicyEvaluationInput } from '@syrup/core';
import { generateRandomInput, type SeededRandom } from '@syrup/core/testing';
import { udpFrame } from '../../codegen/kernel-support.js';

/** One input, as the kernel gets it (a frame) and as the evaluator gets it (fields). */
export interface DifferentialCase {
  readonly frame: Uint8Array;
  readonly input: PolicyEvaluationInput;
  /** How the frame is built (`IPv6 VLAN trailer 3`), for messages. */
  readonly shape: string;
}

/** The smallest frame BPF_PROG_TEST_RUN takes for XDP: an Ethernet header. */
const MIN_FRAME = 14;

/**
 * A random input for a policy of `kind` from core's generator, turned into a frame whose
 * prologue yields exactly the evaluator's fields. The generator's `hash` and `len` are dropped:
 * at XDP the hook computes the flow hash itself, and `len` comes from the UDP length field,
 * which also fixes `payload.length` (a frame cannot carry a `len` that disagrees with its
 * payload). What the frame adds instead: IPv6 addresses (the evaluator gets their documented
 * fold), a VLAN tag, IPv4 options, and bytes after the datagram that are not payload.
 */
export function randomCase(rng: SeededRandom, kind: 'udp' | 'packet'): DifferentialCase {
  const base = generateRandomInput(rng, kind);
  if (kind === 'packet') {
    let data = base.data ?? new Uint8Array(0);
    if (data.length < MIN_FRAME) {
      const padded = new Uint8Array(MIN_FRAME + rng.int(8));
      padded.set(data);
      for (let i = data.length; i < padded.length; i++) padded[i] = rng.int(256);
      data = padded;
    }
    return { frame: data, input: { data }, shape: `frame of ${data.length} bytes` };
  }

  const payload = base.payload ?? new Uint8Array(0);
  const srcPort = Number(base.srcPort ?? 0);
  const dstPort = Number(base.dstPort ?? 0);
  const ipv6 = rng.chance(0.2);
  const vlan = rng.chance(0.15);
  const ipOptions = !ipv6 && rng.chance(0.1) ? 4 * rng.range(1, 10) : 0;
  const trailer = rng.chance(0.15) ? rng.range(1, 8) : 0;
  let srcBytes: number[];
  let dstBytes: number[];
  let srcAddr: number;
  let dstAddr: number;
  if (ipv6) {
    srcBytes = Array.from({ length: 16 }, () => rng.int(256));
    dstBytes = Array.from({ length: 16 }, () => rng.int(256));
    srcAddr = foldIpv6Address(new Uint8Array(srcBytes));
    dstAddr = foldIpv6Address(new Uint8Array(dstBytes));
  } else {
    srcAddr = Number(base.srcAddr ?? 0);
    dstAddr = Number(base.dstAddr ?? 0);
    srcBytes = u32Bytes(srcAddr);
    dstBytes = u32Bytes(dstAddr);
  }
  const frame = udpFrame({ payload, srcAddr: srcBytes, dstAddr: dstBytes, srcPort, dstPort, vlan, ipOptions, trailer });
  // Non-zero bytes after the datagram, so a read that ignored the UDP length would show.
  for (let i = frame.length - trailer; i < frame.length; i++) frame[i] = 1 + rng.int(255);
  const shape = [ipv6 ? 'IPv6' : 'IPv4', vlan ? 'VLAN' : '', ipOptions > 0 ? `options ${ipOptions}` : '', trailer > 0 ? `trailer ${trailer}` : '']
    .filter((s) => s !== '')
    .join(' ');
  return { frame, input: { srcAddr, dstAddr, srcPort, dstPort, payload }, shape };
}

function u32Bytes(value: number): number[] {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** An input for messages: fields as written, byte arrays in hex. */
export function formatInput(input: PolicyEvaluationInput): string {
  const parts = Object.entries(input).map(([name, value]) =>
    value instanceof Uint8Array ? `${name}: hex'${hex(value)}' (${value.length} bytes)` : `${name}: ${String(value)}`,
  );
  return `{ ${parts.join(', ')} }`;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
