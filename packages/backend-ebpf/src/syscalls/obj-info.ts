import type { Fd } from '../fd.js';
import { BPF_OBJ_NAME_LEN, BPF_TAG_SIZE, LinkType } from './bpf-constants.js';
import type { Syscalls } from './syscalls.js';

/** `struct bpf_map_info` as far as the framework reads it. */
export interface MapInfo {
  readonly type: number;
  readonly id: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  readonly ifindex: number;
  readonly btfId: number;
  readonly mapExtra: bigint;
}

/** `struct bpf_prog_info` as far as the framework reads it. */
export interface ProgInfo {
  readonly type: number;
  readonly id: number;
  /** The kernel's 8-byte program hash, as 16 hex digits (what bpftool prints). */
  readonly tag: string;
  readonly jitedProgLen: number;
  readonly xlatedProgLen: number;
  /** Nanoseconds since boot at load time. */
  readonly loadTime: bigint;
  readonly createdByUid: number;
  readonly name: string;
  readonly ifindex: number;
  readonly btfId: number;
  /** Cumulative run time and count; non-zero only while BPF stats are enabled. */
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
  readonly verifiedInsns: number;
  /** Ids of the maps the program uses, when asked for. */
  readonly mapIds: readonly number[];
}

/** `struct bpf_link_info`: the common head plus the XDP and netns fields. */
export interface LinkInfo {
  readonly type: number;
  readonly id: number;
  readonly progId: number;
  /** Interface of an XDP link. */
  readonly ifindex: number | undefined;
}

/** Sizes the framework asks for; a newer kernel fills in no more, an older one less. */
export const MAP_INFO_SIZE = 88;
export const PROG_INFO_SIZE = 232;
export const LINK_INFO_SIZE = 48;

const MAP_IDS_COUNT_OFFSET = 52;
const MAP_IDS_POINTER_OFFSET = 56;

function decodeName(bytes: Uint8Array, offset: number): string {
  const field = bytes.subarray(offset, offset + BPF_OBJ_NAME_LEN);
  const end = field.indexOf(0);
  return new TextDecoder().decode(field.subarray(0, end < 0 ? field.length : end));
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeMapInfo(bytes: Uint8Array): MapInfo {
  const v = dataView(bytes);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    flags: v.getUint32(20, true),
    name: decodeName(bytes, 24),
    ifindex: v.getUint32(40, true),
    btfId: v.getUint32(64, true),
    mapExtra: v.getBigUint64(80, true),
  };
}

export function decodeProgInfo(bytes: Uint8Array, mapIds: readonly number[] = []): ProgInfo {
  const v = dataView(bytes);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    tag: Buffer.from(bytes.subarray(8, 8 + BPF_TAG_SIZE)).toString('hex'),
    jitedProgLen: v.getUint32(16, true),
    xlatedProgLen: v.getUint32(20, true),
    loadTime: v.getBigUint64(40, true),
    createdByUid: v.getUint32(48, true),
    name: decodeName(bytes, 64),
    ifindex: v.getUint32(80, true),
    btfId: v.getUint32(128, true),
    runTimeNs: v.getBigUint64(192, true),
    runCount: v.getBigUint64(200, true),
    verifiedInsns: v.getUint32(216, true),
    mapIds,
  };
}

export function decodeLinkInfo(bytes: Uint8Array): LinkInfo {
  const v = dataView(bytes);
  const type = v.getUint32(0, true);
  return {
    type,
    id: v.getUint32(4, true),
    progId: v.getUint32(8, true),
    ifindex: type === LinkType.XDP ? v.getUint32(16, true) : undefined,
  };
}

/** BPF_OBJ_GET_INFO_BY_FD on a map. */
export function getMapInfo(sys: Syscalls, map: Fd): MapInfo {
  const info = new Uint8Array(MAP_INFO_SIZE);
  sys.objGetInfoByFd(map, info);
  return decodeMapInfo(info);
}

/**
 * BPF_OBJ_GET_INFO_BY_FD on a program. With `mapIds`, a second call fetches the ids of the
 * maps it uses, sized by the count the first call reported.
 */
export function getProgInfo(sys: Syscalls, prog: Fd, options: { mapIds?: boolean } = {}): ProgInfo {
  const info = new Uint8Array(PROG_INFO_SIZE);
  sys.objGetInfoByFd(prog, info);
  const count = dataView(info).getUint32(MAP_IDS_COUNT_OFFSET, true);
  if (!options.mapIds || count === 0) return decodeProgInfo(info);
  const ids = new Uint32Array(count);
  const again = new Uint8Array(PROG_INFO_SIZE);
  dataView(again).setUint32(MAP_IDS_COUNT_OFFSET, count, true);
  sys.objGetInfoByFd(prog, again, [{ offset: MAP_IDS_POINTER_OFFSET, buffer: new Uint8Array(ids.buffer) }]);
  const written = Math.min(count, dataView(again).getUint32(MAP_IDS_COUNT_OFFSET, true));
  return decodeProgInfo(again, [...ids.subarray(0, written)]);
}

/** BPF_OBJ_GET_INFO_BY_FD on a link. */
export function getLinkInfo(sys: Syscalls, link: Fd): LinkInfo {
  const info = new Uint8Array(LINK_INFO_SIZE);
  sys.objGetInfoByFd(link, info);
  return decodeLinkInfo(info);
}
