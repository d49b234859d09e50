import { KernelMap } from '../../src/maps/kernel-map.js';
import { Program } from '../../src/programs/program.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES } from '../../src/codegen/epilogues.js';
import { sourceOfSlot, type ProgramSpec } from '../../src/codegen/program-spec.js';

/** A loaded generated program with the kernel maps it uses, closed together. */
export interface LoadedSpec extends Disposable {
  readonly program: Program;
  readonly maps: ReadonlyMap<string, KernelMap>;
  close(): void;
}

/** What a loader does with a ProgramSpec: create its maps, bind their fds by name, load with BTF. */
export function loadSpec(spec: ProgramSpec, options: { logLevel?: 1 | 2 } = {}): LoadedSpec {
  const maps = new Map<string, KernelMap>();
  try {
    for (const m of spec.maps) {
      maps.set(m.name, KernelMap.create({ type: m.mapType, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, name: m.name.replace(/^\./, '') }));
    }
    const program = Program.load(
      {
        name: spec.name,
        type: spec.programTypeNumber,
        expectedAttachType: spec.expectedAttachTypeNumber,
        license: spec.license,
        instructions: spec.instructions,
        maps,
        btf: { blob: spec.btf.blob, lineInfo: spec.btf.lineInfo, funcInfo: spec.btf.funcInfo },
        sourceOfSlot: (slot) => sourceOfSlot(spec, slot),
      },
      options.logLevel === undefined ? {} : { logLevel: options.logLevel },
    );
    const close = (): void => {
      program.close();
      for (const map of maps.values()) map.close();
    };
    return { program, maps, close, [Symbol.dispose]: close };
  } catch (error) {
    for (const map of maps.values()) map.close();
    if (error instanceof VerifierError) {
      // Vitest prints the message; the log tail is what explains a rejection.
      error.message += `\n${error.log.slice(-40).join('\n')}`;
    }
    throw error;
  }
}

export function u32Key(key: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, key, true);
  return bytes;
}

export function u64Value(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

export function readU64(map: KernelMap, key: number): bigint | undefined {
  const value = map.lookup(u32Key(key));
  return value === undefined ? undefined : new DataView(value.buffer, value.byteOffset).getBigUint64(0, true);
}

export function writeU64(map: KernelMap, key: number, value: bigint): void {
  map.update(u32Key(key), u64Value(value));
}

export type Decision = { readonly kind: 'executor'; readonly key: bigint } | { readonly kind: 'pass' } | { readonly kind: 'drop' };

/** Runs the test harness on `frame` and reads the decision its epilogue recorded. */
export function runHarness(loaded: LoadedSpec, frame: Uint8Array): Decision {
  const result = loaded.maps.get(SYSTEM_MAP_NAMES.result)!;
  writeU64(result, 0, 99n);
  const run = loaded.program.testRun(frame);
  if (run.retval !== 2) throw new Error(`the harness returned ${run.retval}, not XDP_PASS`);
  const kind = readU64(result, 0);
  if (kind === BigInt(HARNESS_RESULT_KIND.executor)) return { kind: 'executor', key: readU64(result, 1)! };
  if (kind === BigInt(HARNESS_RESULT_KIND.pass)) return { kind: 'pass' };
  if (kind === BigInt(HARNESS_RESULT_KIND.drop)) return { kind: 'drop' };
  throw new Error(`the harness recorded no decision (kind ${String(kind)})`);
}

export interface UdpFrameOptions {
  readonly payload?: Uint8Array;
  readonly srcAddr?: readonly number[];
  readonly dstAddr?: readonly number[];
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Overrides the UDP length field (default 8 + payload length). */
  readonly udpLength?: number;
  /** Bytes of IPv4 options (a multiple of 4). */
  readonly ipOptions?: number;
  readonly vlan?: boolean;
  /** IPv4 fragment offset in 8-byte units. */
  readonly fragmentOffset?: number;
  readonly protocol?: number;
  /** Zero bytes appended after the datagram, as a NIC may pad. */
  readonly trailer?: number;
  /** Ethernet addresses (default: all 0xaa). */
  readonly dstMac?: readonly number[];
  readonly srcMac?: readonly number[];
  /** The 802.1Q tag's VLAN id (default 42). */
  readonly vlanId?: number;
  /** IPv4 TTL / IPv6 hop limit (default 64). */
  readonly ttl?: number;
  /** The byte that fills IPv4 options (default 0, end of options; 1 is NOP). */
  readonly ipOptionByte?: number;
}

/** An Ethernet frame carrying a UDP datagram over IPv4 (4-byte addresses) or IPv6 (16-byte ones). */
export function udpFrame(options: UdpFrameOptions = {}): Uint8Array {
  const payload = options.payload ?? new Uint8Array(0);
  const src = options.srcAddr ?? [10, 0, 0, 1];
  const dst = options.dstAddr ?? [10, 0, 0, 2];
  const ipv6 = src.length === 16;
  const options4 = options.ipOptions ?? 0;
  const l2 = 14 + (options.vlan ? 4 : 0);
  const l3 = ipv6 ? 40 : 20 + options4;
  const bytes = new Uint8Array(l2 + l3 + 8 + payload.length + (options.trailer ?? 0));
  const view = new DataView(bytes.buffer);
  bytes.fill(0xaa, 0, 12);
  if (options.dstMac) bytes.set(options.dstMac, 0);
  if (options.srcMac) bytes.set(options.srcMac, 6);
  let at = 12;
  if (options.vlan) {
    view.setUint16(at, 0x8100);
    view.setUint16(at + 2, options.vlanId ?? 42);
    at += 4;
  }
  view.setUint16(at, ipv6 ? 0x86dd : 0x0800);
  const ip = l2;
  const protocol = options.protocol ?? 17;
  if (ipv6) {
    view.setUint32(ip, 0x6000_0000);
    view.setUint16(ip + 4, 8 + payload.length);
    view.setUint8(ip + 6, protocol);
    view.setUint8(ip + 7, options.ttl ?? 64);
    bytes.set(src, ip + 8);
    bytes.set(dst, ip + 24);
  } else {
    view.setUint8(ip, 0x40 | ((20 + options4) / 4));
    view.setUint16(ip + 2, l3 + 8 + payload.length);
    view.setUint16(ip + 6, options.fragmentOffset ?? 0);
    view.setUint8(ip + 8, options.ttl ?? 64);
    view.setUint8(ip + 9, protocol);
    bytes.set(src, ip + 12);
    bytes.set(dst, ip + 16);
    bytes.fill(options.ipOptionByte ?? 0, ip + 20, ip + 20 + options4);
  }
  const udp = l2 + l3;
  view.setUint16(udp, options.srcPort ?? 40000);
  view.setUint16(udp + 2, options.dstPort ?? 9000);
  view.setUint16(udp + 4, options.udpLength ?? 8 + payload.length);
  bytes.set(payload, udp + 8);
  return bytes;
}

export function bytesOf(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}
