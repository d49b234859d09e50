// @syrup/backend-ebpf/btf: a minimal BTF writer (pure; no syscalls), and a reader of the kernel's own BTF for struct offsets.
// Owns the BTF blob, func info and line info a generated program loads with, so the
// verifier's log quotes the policy's TypeScript lines.
export { BtfError } from './btf-error.js';
export type { BtfErrorCode } from './btf-error.js';
export { BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION, BtfBuilder, BtfKind, toBtfIdentifier } from './btf-builder.js';
export type { BtfLinkage, BtfTypeId } from './btf-builder.js';
export { FUNC_INFO_RECORD_SIZE, LINE_INFO_RECORD_SIZE, buildProgramBtf, encodeFuncInfo, encodeLineInfo } from './line-info.js';
export type { BtfRecords, GeneratedBtf, LineAnchor, LineInfoRecord } from './line-info.js';
export { KernelBtf } from './kernel-btf.js';
