// Instruction set: builders, assembler, decoder and disassembler (pure; no syscalls).
export {
  AsmError,
  AluCode,
  AtomicCode,
  CallSrc,
  Endian,
  INSTRUCTION_SIZE,
  InsnClass,
  JumpCode,
  Mode,
  Opcode,
  PseudoSrc,
  SIZE_BYTES,
  Size,
  Source,
  opClass,
  opCode,
  opMode,
  opSize,
  opSource,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  R9,
  R10,
  RFP,
  isRegister,
  Instruction,
  referenceField,
  Add,
  And,
  ArSh,
  Div,
  LSh,
  Mod,
  Mov,
  Mul,
  Or,
  RSh,
  SDiv,
  SMod,
  Sub,
  Xor,
  aluImm,
  aluReg,
  byteSwap,
  movSx,
  movSx32,
  neg,
  neg32,
  toBigEndian,
  toLittleEndian,
  JEq,
  JGE,
  JGT,
  JLE,
  JLT,
  JNE,
  JSGE,
  JSGT,
  JSLE,
  JSLT,
  JSet,
  call,
  callLocal,
  exit,
  ja,
  jaLong,
  jumpImm,
  jumpReg,
  loadAbs,
  loadImm64,
  loadInd,
  loadMapPtr,
  loadMapValue,
  loadMem,
  loadMemSx,
  storeImm,
  storeMem,
  atomic,
  atomicCmpXchg,
  atomicFetch,
  atomicXchg,
  HELPER_IDS,
  helperId,
  helperName,
  assemble,
  encode,
  isLabel,
  label,
  resolveLabels,
  decode,
  disassemble,
  formatInstruction,
} from './asm/index.js';
export type {
  AsmErrorCode,
  Register,
  InstructionFields,
  ReferenceField,
  SourceLocation,
  AluEmitter,
  AluOp,
  AluWidth,
  SwapBits,
  JumpCond,
  JumpEmitter,
  JumpTarget,
  JumpWidth,
  NarrowSize,
  AtomicOp,
  AtomicSize,
  HelperName,
  AsmItem,
  AssembledProgram,
  EncodeOptions,
  Label,
  MapFdResolver,
  ResolvedProgram,
  SlotSource,
  DisasmOptions,
  FormatOptions,
} from './asm/index.js';

// Errors.
export { BpfAttrError } from './errors/bpf-attr-error.js';
export { ERRNO, errnoName, type ErrnoCode, type ErrnoName } from './errors/errno.js';
export { FdError, type FdErrorCode } from './errors/fd-error.js';
export { KernelMapError, type KernelMapErrorCode } from './errors/kernel-map-error.js';
export { PinError, type PinErrorCode } from './errors/pin-error.js';
export { SyscallError, isSyscallError, type SyscallErrorOptions } from './errors/syscall-error.js';

// Owned file descriptors.
export { Fd, reportFdLeaks, type FdLeak, type FdLeakReporter, type FdSyscalls } from './fd.js';

// The syscall chokepoint (the fake lives on the ./testing entry).
export { NativeSyscalls, nativeSyscalls } from './syscalls/native-syscalls.js';
export {
  Epoll,
  Mmap,
  type BpfObjectKind,
  type BtfLoadAttr,
  type InfoPointer,
  type LinkCreateAttr,
  type LinkUpdateOptions,
  type LoadOutput,
  type MapCreateAttr,
  type MapLookupBatchAttr,
  type MapLookupBatchResult,
  type MapUpdateBatchAttr,
  type MmapOptions,
  type ProgLoadAttr,
  type ProgTestRunAttr,
  type ProgTestRunResult,
  type RecordArray,
  type Syscalls,
} from './syscalls/syscalls.js';
export type { SyscallBuffer } from './syscalls/syscall-buffer.js';
export {
  AttachType,
  BPF_ATTR_SIZE,
  BPF_FS_MAGIC,
  BPF_OBJ_NAME_LEN,
  BPF_TAG_SIZE,
  BpfCommand,
  FileFlag,
  LINK_UPDATE_REPLACE,
  LinkType,
  MapFlag,
  MapType,
  ProgType,
  UpdateFlag,
  bpfCommandName,
} from './syscalls/bpf-constants.js';
export { BPF_INSN_SIZE, sanitizeObjectName } from './syscalls/bpf-attr.js';
export {
  decodeLinkInfo,
  decodeMapInfo,
  decodeProgInfo,
  getLinkInfo,
  getMapInfo,
  getProgInfo,
  type LinkInfo,
  type MapInfo,
  type ProgInfo,
} from './syscalls/obj-info.js';

// Kernel maps.
export { KernelMap, type KernelMapOptions, type OpenKernelMapOptions } from './maps/kernel-map.js';
export { dataMapKindOf, kernelSpecOfDataMap, type DataMapKernelOptions, type KernelMapSpec } from './maps/kernel-map-spec.js';
export {
  KernelDataMapStore,
  type KernelDataMapStoreOptions,
  type OpenKernelDataMapOptions,
} from './maps/kernel-data-map-store.js';
export { KernelDataMapProvider, type KernelDataMapProviderOptions } from './maps/kernel-data-map-provider.js';
export { MapMemory } from './maps/map-memory.js';

// Pins in the BPF filesystem.
export { BPFFS_MOUNT_POINT, DEFAULT_PIN_ROOT, ensureBpffs, isBpffs, type EnsureBpffsOptions } from './pin/bpffs.js';
export { pinPath } from './pin/pin-path.js';
export {
  openPinned,
  pinObject,
  setPinMode,
  setPinOwner,
  unpin,
  type OpenPinnedOptions,
  type PinAccess,
  type PinOptions,
} from './pin/pin.js';

// Programs: load with verifier-log capture, VerifierError, BPF_PROG_TEST_RUN.
export { Program, type OpenProgramOptions, type ProgramLoadOptions, type ProgramOptions } from './programs/program.js';
export type { MapReference, ProgramLoadBtf, ProgramLoadSpec, ProgramMapResolver } from './programs/program-load-spec.js';
export {
  TestRunner,
  verdictName,
  type TestRunOptions,
  type TestRunResult,
  type TestRunnerOptions,
  type XdpContextInput,
} from './programs/test-runner.js';
export { VerifierError, type VerifierErrorDetails, type VerifierLogFormat } from './programs/verifier-error.js';
export { parseVerifierLog, type ParsedVerifierLog } from './programs/verifier-log.js';
export { ProgramError, type ProgramErrorCode } from './programs/program-error.js';
export { sourceFromLineInfo } from './programs/line-info-source.js';

// Links and other attachments.
export { XDP_MODE_FLAGS, XdpLink, attachXdp, type AttachXdpOptions, type XdpLinkUpdateOptions, type XdpMode } from './links/xdp-link.js';
export { PinnedLink } from './links/pinned-link.js';
export {
  ReuseportAttachment,
  SO_ATTACH_REUSEPORT_EBPF,
  SO_DETACH_REUSEPORT_BPF,
  type ReuseportAttachOptions,
} from './links/reuseport-attachment.js';
export { LinkError, type LinkErrorCode } from './links/link-error.js';
export { NETNS_RUN_DIR, inNetworkNamespace, networkNamespacePath, type NetworkNamespaceOptions } from './links/network-namespace.js';
export { interfaceIndex } from './links/interface-index.js';
export { setTxChecksumOffload, txChecksumOffload, type TxChecksumOptions } from './links/tx-checksum-offload.js';

// System maps: the backends' own machinery, never seen by policy code.
export { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './maps/system/system-map.js';
export { ProgArray } from './maps/system/prog-array.js';
export { ReuseportSockArray } from './maps/system/reuseport-sock-array.js';
export { XskMap } from './maps/system/xsk-map.js';
export { CPU_MAP_MAX_QUEUE_SIZE, CpuMap, type CpuMapEntry, type CpuMapValue } from './maps/system/cpu-map.js';
export {
  RingBuffer,
  type RingBufferCreateOptions,
  type RingBufferRecordHandler,
  type RingBufferSubscription,
} from './maps/system/ring-buffer.js';
export { ReadinessPoller, type ReadinessWatch } from './maps/system/readiness-poller.js';
export { SystemMapError, type SystemMapErrorCode } from './maps/system/system-map-error.js';

// Capability probe.
export { FEATURE_NAMES, probeFeature, probeFeatures, type FeatureName, type FeatureReport, type FeatureStatus, type ProbeOptions } from './features/probe-features.js';
export { SYSTEM_PROBE_ENVIRONMENT, type ProbeEnvironment } from './features/probe-environment.js';

// Code generation: policy IR -> eBPF program specs (pure).
export {
  ATTACH_TYPE_NUMBERS,
  CODEGEN_HOOKS,
  CodegenError,
  HARNESS_RESULT_KIND,
  MAP_TYPE_NUMBERS,
  PROGRAM_TYPE_NUMBERS,
  SYSTEM_MAP_NAMES,
  generateProgram,
  generateTestHarness,
  originOfSlot,
  sourceOfSlot,
  type CodegenErrorCode,
  type CodegenErrorLocation,
  type CodegenHook,
  type CodegenTarget,
  type ExpectedAttachType,
  type GenerateOptions,
  type ProgramMapRole,
  type ProgramMapSpec,
  type ProgramMapType,
  type ProgramSpec,
  type ProgramType,
  type SlotOrigin,
  type SlotSection,
  type TestHarnessOptions,
} from './codegen/index.js';

// BTF: the blob, func info and line info a generated program loads with.
export {
  BtfBuilder,
  BtfError,
  LINE_INFO_RECORD_SIZE,
  buildProgramBtf,
  encodeFuncInfo,
  encodeLineInfo,
  toBtfIdentifier,
  type BtfErrorCode,
  type BtfRecords,
  type GeneratedBtf,
  type LineAnchor,
  type LineInfoRecord,
} from './btf/index.js';

// Loader: a generated program spec -> live program and maps.
export { LoadedProgram, loadProgramSpec, type LoadProgramSpecOptions } from './loader/loaded-program.js';

// The backend plugin: register(container) binds it under core's Backend token.
export { EbpfBackend } from './ebpf-backend.js';
export { ebpfBackendModule, ebpfNetworkHooks, register } from './ebpf-backend-module.js';
export type { EbpfArtifact, HookCompileOptions, NetworkHook } from './hooks/network-hook.js';

// socket-select: policies over the sockets of one SO_REUSEPORT group.
export { SocketSelectHook, type SocketSelectHookOptions } from './hooks/socket-select/socket-select-hook.js';
export { SocketGroupAttachment, type SocketGroupAttachOptions } from './hooks/socket-select/socket-group-attachment.js';
export { SocketSelectError, type SocketSelectErrorCode } from './hooks/socket-select/socket-select-error.js';
export type { SocketGroupInfo } from './hooks/socket-select/socket-group.js';
export type { ExplicitSocket } from './hooks/socket-select/local-socket-group.js';
export type { NodeSocket } from './hooks/socket-select/node-socket-fd.js';
export type { SocketProtocol } from './hooks/socket-select/socket-table.js';

// AF_XDP in TypeScript: UMEM, rings, sockets sharing one UMEM on a queue, a server loop.
export { XskUmem, type XskQueueBinding, type XskUmemOptions } from './xsk/xsk-umem.js';
export { XskSocket, type XskFrame, type XskSocketOptions, type XskStatistics } from './xsk/xsk-socket.js';
export { XskSocketGroup, type XskSocketGroupOptions } from './xsk/xsk-socket-group.js';
export { XskServer, type XskFrameHandler, type XskServerCounters, type XskServerOptions } from './xsk/xsk-server.js';
export { XskError, type XskErrorCode } from './xsk/xsk-error.js';
export { echoUdpFrame } from './xsk/echo-udp-frame.js';
export { finishChecksum, ipv4HeaderChecksum, onesComplementSum, udpChecksum } from './xsk/internet-checksum.js';

// XDP hooks (xdp-skb, xdp-drv, cpu-redirect) behind a per-interface root dispatcher.
export { XDP_HOOK_IDS, XdpHook, createXdpHooks, type XdpHookOptions } from './hooks/xdp/xdp-hook.js';
export { XdpAttachment } from './hooks/xdp/xdp-attachment.js';
export { DISPATCHER_SLOTS, XdpDispatcher, type DispatcherLease, type DispatcherMode } from './hooks/xdp/xdp-dispatcher.js';
export type { DispatcherLocation, DispatcherPins } from './hooks/xdp/xdp-dispatcher.js';
export { XdpHookError, type XdpHookErrorCode } from './hooks/xdp/xdp-hook-error.js';
export { DEFAULT_CPU_QUEUE_SIZE, parseXdpTarget, type XdpHookId, type XdpTarget, type XskExecutors } from './hooks/xdp/xdp-target.js';
export { DISPATCHER_MAP_NAMES, ROUTE_VALUE_SIZE, dispatcherInstructions } from './hooks/xdp/dispatcher-program.js';
export { networkNamespaceIdentity } from './links/network-namespace-identity.js';
