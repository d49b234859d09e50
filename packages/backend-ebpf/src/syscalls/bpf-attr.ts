import { BpfAttrError } from '../errors/bpf-attr-error.js';
import { BPF_OBJ_NAME_LEN, LINK_UPDATE_REPLACE } from './bpf-constants.js';
import type {
  BtfLoadAttr,
  LinkCreateAttr,
  LinkUpdateOptions,
  MapCreateAttr,
  ProgLoadAttr,
  ProgTestRunAttr,
} from './syscalls.js';

/**
 * Pure encoders of `union bpf_attr`, one per command, writing little-endian fields at the
 * kernel's offsets (checked against a compiled probe of the UAPI header). The caller zeroes
 * the buffer first. Pointers come from `addressOf`, which the native implementation backs
 * with real addresses and keeps the arrays alive until the call returns.
 */
export type AddressOf = (bytes: Uint8Array | undefined) => bigint;

const U32_LIMIT = 2 ** 32;

function u32(view: DataView, offset: number, value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= U32_LIMIT) {
    throw new BpfAttrError(field, `bpf_attr field '${field}' must be an unsigned 32-bit integer, got ${value}.`);
  }
  view.setUint32(offset, value, true);
}

function ptr(view: DataView, offset: number, address: bigint): void {
  view.setBigUint64(offset, address, true);
}

/** An object name is at most 15 bytes of `[A-Za-z0-9_.]`; the kernel refuses anything else. */
export function checkObjectName(name: string, field: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length >= BPF_OBJ_NAME_LEN || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new BpfAttrError(field, `bpf object name '${name}' must be at most 15 characters of A-Z, a-z, 0-9, '_' and '.'.`);
  }
  return bytes;
}

/** Turns any string into a valid object name: invalid characters become '_', then truncation to 15. */
export function sanitizeObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, BPF_OBJ_NAME_LEN - 1);
}

/** A NUL-terminated copy of `text` for pointer fields (paths, license). */
export function cString(text: string): Uint8Array {
  const encoded = new TextEncoder().encode(text);
  if (encoded.includes(0)) throw new BpfAttrError('string', `a C string cannot contain NUL: ${JSON.stringify(text)}.`);
  const bytes = new Uint8Array(encoded.length + 1);
  bytes.set(encoded);
  return bytes;
}

export const MapCreateOffset = {
  map_type: 0,
  key_size: 4,
  value_size: 8,
  max_entries: 12,
  map_flags: 16,
  inner_map_fd: 20,
  numa_node: 24,
  map_name: 28,
  map_ifindex: 44,
  btf_fd: 48,
  btf_key_type_id: 52,
  btf_value_type_id: 56,
  map_extra: 64,
} as const;

export function encodeMapCreate(view: DataView, attr: MapCreateAttr): void {
  const o = MapCreateOffset;
  u32(view, o.map_type, attr.mapType, 'map_type');
  u32(view, o.key_size, attr.keySize, 'key_size');
  u32(view, o.value_size, attr.valueSize, 'value_size');
  u32(view, o.max_entries, attr.maxEntries, 'max_entries');
  u32(view, o.map_flags, attr.mapFlags ?? 0, 'map_flags');
  if (attr.innerMap) u32(view, o.inner_map_fd, attr.innerMap.raw, 'inner_map_fd');
  u32(view, o.numa_node, attr.numaNode ?? 0, 'numa_node');
  if (attr.name !== undefined) {
    new Uint8Array(view.buffer, view.byteOffset + o.map_name, BPF_OBJ_NAME_LEN).set(checkObjectName(attr.name, 'map_name'));
  }
  u32(view, o.map_ifindex, attr.ifindex ?? 0, 'map_ifindex');
  if (attr.btf) u32(view, o.btf_fd, attr.btf.raw, 'btf_fd');
  u32(view, o.btf_key_type_id, attr.btfKeyTypeId ?? 0, 'btf_key_type_id');
  u32(view, o.btf_value_type_id, attr.btfValueTypeId ?? 0, 'btf_value_type_id');
  view.setBigUint64(o.map_extra, attr.mapExtra ?? 0n, true);
}

/** `BPF_MAP_*_ELEM`: map_fd 0, key 8, value/next_key 16, flags 24. Shared by the four element commands. */
export const MapElemOffset = { map_fd: 0, key: 8, value: 16, flags: 24 } as const;

/** The hot-path encoder: no validation, because every argument comes from the map itself. */
export function encodeMapElem(view: DataView, mapFd: number, key: bigint, value: bigint, flags: number): void {
  view.setUint32(MapElemOffset.map_fd, mapFd, true);
  view.setBigUint64(MapElemOffset.key, key, true);
  view.setBigUint64(MapElemOffset.value, value, true);
  // Two u32 halves instead of setBigUint64(BigInt(flags)): converting would allocate a BigInt per call.
  view.setUint32(MapElemOffset.flags, flags, true);
  view.setUint32(MapElemOffset.flags + 4, 0, true);
}

export const MapBatchOffset = {
  in_batch: 0,
  out_batch: 8,
  keys: 16,
  values: 24,
  count: 32,
  map_fd: 36,
  elem_flags: 40,
  flags: 48,
} as const;

export interface MapBatchPointers {
  readonly inBatch: bigint;
  readonly outBatch: bigint;
  readonly keys: bigint;
  readonly values: bigint;
}

export function encodeMapBatch(
  view: DataView,
  mapFd: number,
  pointers: MapBatchPointers,
  count: number,
  elemFlags: number,
): void {
  const o = MapBatchOffset;
  ptr(view, o.in_batch, pointers.inBatch);
  ptr(view, o.out_batch, pointers.outBatch);
  ptr(view, o.keys, pointers.keys);
  ptr(view, o.values, pointers.values);
  u32(view, o.count, count, 'count');
  view.setUint32(o.map_fd, mapFd, true);
  view.setBigUint64(o.elem_flags, BigInt(elemFlags), true);
}

export const ProgLoadOffset = {
  prog_type: 0,
  insn_cnt: 4,
  insns: 8,
  license: 16,
  log_level: 24,
  log_size: 28,
  log_buf: 32,
  kern_version: 40,
  prog_flags: 44,
  prog_name: 48,
  prog_ifindex: 64,
  expected_attach_type: 68,
  prog_btf_fd: 72,
  func_info_rec_size: 76,
  func_info: 80,
  func_info_cnt: 88,
  line_info_rec_size: 92,
  line_info: 96,
  line_info_cnt: 104,
  attach_btf_id: 108,
  attach_prog_fd: 112,
  /** Output, 6.4+: the log size the kernel needed. */
  log_true_size: 140,
} as const;

export const BPF_INSN_SIZE = 8;

export function encodeProgLoad(view: DataView, attr: ProgLoadAttr, addressOf: AddressOf): void {
  const o = ProgLoadOffset;
  if (attr.insns.length % BPF_INSN_SIZE !== 0) {
    throw new BpfAttrError('insns', `program instructions are 8 bytes each, but ${attr.insns.length} bytes were given.`);
  }
  u32(view, o.prog_type, attr.progType, 'prog_type');
  u32(view, o.insn_cnt, attr.insns.length / BPF_INSN_SIZE, 'insn_cnt');
  ptr(view, o.insns, addressOf(attr.insns));
  ptr(view, o.license, addressOf(cString(attr.license)));
  const logLevel = attr.logLevel ?? 0;
  u32(view, o.log_level, logLevel, 'log_level');
  if (attr.logBuffer && logLevel > 0) {
    u32(view, o.log_size, attr.logBuffer.length, 'log_size');
    ptr(view, o.log_buf, addressOf(attr.logBuffer));
  }
  u32(view, o.prog_flags, attr.progFlags ?? 0, 'prog_flags');
  if (attr.name !== undefined) {
    new Uint8Array(view.buffer, view.byteOffset + o.prog_name, BPF_OBJ_NAME_LEN).set(checkObjectName(attr.name, 'prog_name'));
  }
  u32(view, o.prog_ifindex, attr.ifindex ?? 0, 'prog_ifindex');
  u32(view, o.expected_attach_type, attr.expectedAttachType ?? 0, 'expected_attach_type');
  if (attr.progBtf) u32(view, o.prog_btf_fd, attr.progBtf.raw, 'prog_btf_fd');
  if (attr.funcInfo) {
    u32(view, o.func_info_rec_size, attr.funcInfo.recordSize, 'func_info_rec_size');
    ptr(view, o.func_info, addressOf(attr.funcInfo.data));
    u32(view, o.func_info_cnt, attr.funcInfo.count, 'func_info_cnt');
  }
  if (attr.lineInfo) {
    u32(view, o.line_info_rec_size, attr.lineInfo.recordSize, 'line_info_rec_size');
    ptr(view, o.line_info, addressOf(attr.lineInfo.data));
    u32(view, o.line_info_cnt, attr.lineInfo.count, 'line_info_cnt');
  }
  u32(view, o.attach_btf_id, attr.attachBtfId ?? 0, 'attach_btf_id');
  if (attr.attachProg) u32(view, o.attach_prog_fd, attr.attachProg.raw, 'attach_prog_fd');
}

export const ObjOffset = { pathname: 0, bpf_fd: 8, file_flags: 12 } as const;

export function encodeObj(view: DataView, pathAddress: bigint, fd: number, fileFlags: number): void {
  ptr(view, ObjOffset.pathname, pathAddress);
  view.setUint32(ObjOffset.bpf_fd, fd, true);
  u32(view, ObjOffset.file_flags, fileFlags, 'file_flags');
}

export const TestRunOffset = {
  prog_fd: 0,
  retval: 4,
  data_size_in: 8,
  data_size_out: 12,
  data_in: 16,
  data_out: 24,
  repeat: 32,
  duration: 36,
  ctx_size_in: 40,
  ctx_size_out: 44,
  ctx_in: 48,
  ctx_out: 56,
  flags: 64,
  cpu: 68,
  batch_size: 72,
} as const;

export function encodeProgTestRun(view: DataView, attr: ProgTestRunAttr, addressOf: AddressOf): void {
  const o = TestRunOffset;
  view.setUint32(o.prog_fd, attr.prog.raw, true);
  if (attr.dataIn) {
    u32(view, o.data_size_in, attr.dataIn.length, 'data_size_in');
    ptr(view, o.data_in, addressOf(attr.dataIn));
  }
  if (attr.dataOut) {
    u32(view, o.data_size_out, attr.dataOut.length, 'data_size_out');
    ptr(view, o.data_out, addressOf(attr.dataOut));
  }
  u32(view, o.repeat, attr.repeat ?? 0, 'repeat');
  if (attr.ctxIn) {
    u32(view, o.ctx_size_in, attr.ctxIn.length, 'ctx_size_in');
    ptr(view, o.ctx_in, addressOf(attr.ctxIn));
  }
  if (attr.ctxOut) {
    u32(view, o.ctx_size_out, attr.ctxOut.length, 'ctx_size_out');
    ptr(view, o.ctx_out, addressOf(attr.ctxOut));
  }
  u32(view, o.flags, attr.flags ?? 0, 'flags');
  u32(view, o.cpu, attr.cpu ?? 0, 'cpu');
  u32(view, o.batch_size, attr.batchSize ?? 0, 'batch_size');
}

export const InfoOffset = { bpf_fd: 0, info_len: 4, info: 8 } as const;

export function encodeObjGetInfo(view: DataView, fd: number, infoLength: number, infoAddress: bigint): void {
  view.setUint32(InfoOffset.bpf_fd, fd, true);
  u32(view, InfoOffset.info_len, infoLength, 'info_len');
  ptr(view, InfoOffset.info, infoAddress);
}

export const BtfLoadOffset = {
  btf: 0,
  btf_log_buf: 8,
  btf_size: 16,
  btf_log_size: 20,
  btf_log_level: 24,
  /** Output, 6.4+. */
  btf_log_true_size: 28,
} as const;

export function encodeBtfLoad(view: DataView, attr: BtfLoadAttr, addressOf: AddressOf): void {
  const o = BtfLoadOffset;
  ptr(view, o.btf, addressOf(attr.btf));
  u32(view, o.btf_size, attr.btf.length, 'btf_size');
  const logLevel = attr.logLevel ?? 0;
  if (attr.logBuffer && logLevel > 0) {
    ptr(view, o.btf_log_buf, addressOf(attr.logBuffer));
    u32(view, o.btf_log_size, attr.logBuffer.length, 'btf_log_size');
  }
  u32(view, o.btf_log_level, logLevel, 'btf_log_level');
}

export const LinkCreateOffset = { prog_fd: 0, target: 4, attach_type: 8, flags: 12, target_btf_id: 16 } as const;

export function encodeLinkCreate(view: DataView, attr: LinkCreateAttr): void {
  const o = LinkCreateOffset;
  if (attr.target !== undefined && attr.targetIfindex !== undefined) {
    throw new BpfAttrError('target_fd', 'a link targets either an fd or an ifindex, not both.');
  }
  view.setUint32(o.prog_fd, attr.prog.raw, true);
  u32(view, o.target, attr.target?.raw ?? attr.targetIfindex ?? 0, attr.target ? 'target_fd' : 'target_ifindex');
  u32(view, o.attach_type, attr.attachType, 'attach_type');
  u32(view, o.flags, attr.flags ?? 0, 'flags');
  u32(view, o.target_btf_id, attr.targetBtfId ?? 0, 'target_btf_id');
}

export const LinkUpdateOffset = { link_fd: 0, new_prog_fd: 4, flags: 8, old_prog_fd: 12 } as const;

export function encodeLinkUpdate(view: DataView, link: number, newProg: number, options: LinkUpdateOptions = {}): void {
  const o = LinkUpdateOffset;
  view.setUint32(o.link_fd, link, true);
  view.setUint32(o.new_prog_fd, newProg, true);
  const flags = (options.flags ?? 0) | (options.oldProg ? LINK_UPDATE_REPLACE : 0);
  u32(view, o.flags, flags, 'flags');
  if (options.oldProg) view.setUint32(o.old_prog_fd, options.oldProg.raw, true);
}

export const LinkDetachOffset = { link_fd: 0 } as const;
