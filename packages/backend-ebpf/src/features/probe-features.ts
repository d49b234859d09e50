import { randomBytes } from 'node:crypto';
import { exit, Mov, R0 } from '../asm/index.js';
import { SyscallError } from '../errors/syscall-error.js';
import { LinkError } from '../links/link-error.js';
import { RawTracepointLink } from '../links/raw-tracepoint-link.js';
import { attachXdp, type XdpMode } from '../links/xdp-link.js';
import { isBpffs, BPFFS_MOUNT_POINT } from '../pin/bpffs.js';
import { Program } from '../programs/program.js';
import { ProgramError } from '../programs/program-error.js';
import { AttachType, MapFlag, MapType, ProgType } from '../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { SYSTEM_PROBE_ENVIRONMENT, type ProbeEnvironment } from './probe-environment.js';

/** Every capability the probe answers for. */
export const FEATURE_NAMES = [
  'bpf-syscall',
  'cap-bpf',
  'jit',
  'bpffs',
  'xdp-generic',
  'xdp-driver',
  'af-xdp',
  'ringbuf',
  'mmapable-array',
  'sk-reuseport',
  'raw-tracepoint',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface FeatureStatus {
  readonly name: FeatureName;
  readonly available: boolean;
  /** One sentence saying why not, when unavailable. */
  readonly reason?: string;
}

export interface FeatureReport {
  /** One entry per capability, in `FEATURE_NAMES` order. */
  readonly features: readonly FeatureStatus[];
  get(name: FeatureName): FeatureStatus;
  /** True when every listed capability is available. */
  has(...names: FeatureName[]): boolean;
}

export interface ProbeOptions {
  readonly sys?: Syscalls;
  readonly env?: ProbeEnvironment;
  /** Probe again instead of answering from the cache. */
  readonly refresh?: boolean;
}

const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;
const AF_XDP = 44;
const SOCK_RAW = 3;
const JIT_SYSCTL = '/proc/sys/net/core/bpf_jit_enable';

type Probe = (sys: Syscalls, env: ProbeEnvironment) => string | undefined;

/*
 * Each probe returns undefined when the capability is there, or the sentence saying why not.
 * Only conclusive answers matter (cilium/ebpf's features package): a probe that cannot tell
 * says why in its sentence rather than guessing "available".
 */
const PROBES: Readonly<Record<FeatureName, Probe>> = {
  'bpf-syscall': (sys) =>
    refusal(() => sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).close(), {
      ENOSYS: 'This kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off).',
      EPERM: 'The bpf() system call is refused (EPERM): this process has no CAP_BPF/root and unprivileged BPF is disabled.',
    }),
  'cap-bpf': (_sys, env) => {
    let status: string;
    try {
      status = env.readFile('/proc/self/status');
    } catch {
      return 'The capabilities of this process cannot be read from /proc/self/status.';
    }
    const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
    const effective = line === undefined ? 0n : BigInt(`0x${line.slice('CapEff:'.length).trim()}`);
    if (((effective >> CAP_BPF) & 1n) === 1n || ((effective >> CAP_SYS_ADMIN) & 1n) === 1n) return undefined;
    return 'This process has neither CAP_BPF nor CAP_SYS_ADMIN; run it as root or grant CAP_BPF (with CAP_NET_ADMIN for networking hooks).';
  },
  jit: (_sys, env) => {
    let value: string;
    try {
      value = env.readFile(JIT_SYSCTL).trim();
    } catch {
      return `The JIT setting cannot be read from ${JIT_SYSCTL}, so whether programs are compiled is unknown.`;
    }
    return value === '0' ? 'The BPF JIT is disabled (net.core.bpf_jit_enable = 0), so programs would run interpreted and much slower.' : undefined;
  },
  bpffs: (sys, env) => {
    if (isBpffs(BPFFS_MOUNT_POINT, { sys })) return undefined;
    // Not mounted yet, but ensureBpffs can mount it.
    if (hasCapability(env, CAP_SYS_ADMIN)) return undefined;
    return `No bpf filesystem is mounted at ${BPFFS_MOUNT_POINT}, and this process cannot mount one (that needs CAP_SYS_ADMIN), so nothing can be pinned.`;
  },
  'xdp-generic': (sys, env) => probeXdp(sys, env, 'skb'),
  'xdp-driver': (sys, env) => probeXdp(sys, env, 'drv'),
  'af-xdp': (sys) =>
    refusal(() => sys.socket(AF_XDP, SOCK_RAW, 0).close(), {
      EAFNOSUPPORT: 'This kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS is off).',
      EPERM: 'Creating an AF_XDP socket is refused: it needs CAP_NET_RAW.',
      EACCES: 'Creating an AF_XDP socket is refused: it needs CAP_NET_RAW.',
    }),
  ringbuf: (sys) =>
    refusal(() => sys.mapCreate({ mapType: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: sys.pageSize() }).close(), {
      EINVAL: 'This kernel has no BPF ring buffer maps (they arrived in 5.8).',
    }),
  'mmapable-array': (sys) =>
    refusal(() => sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapFlags: MapFlag.MMAPABLE }).close(), {
      EINVAL: 'This kernel cannot create mmapable array maps (BPF_F_MMAPABLE arrived in 5.5), so userspace fetchAdd cannot be atomic.',
    }),
  'sk-reuseport': (sys) => {
    try {
      Program.load(
        {
          name: 'probe_reuseport',
          type: ProgType.SK_REUSEPORT,
          expectedAttachType: AttachType.SK_REUSEPORT_SELECT,
          license: 'GPL',
          instructions: [Mov.imm(R0, 1), exit()],
        },
        { sys },
      ).close();
      return undefined;
    } catch (error) {
      return `This kernel does not load SK_REUSEPORT programs (${describe(error)}), so the socket-select hook cannot work.`;
    }
  },
  // Attached for real (to sched_switch, which every scheduler-hook kernel has): loading alone
  // would not show that BPF_RAW_TRACEPOINT_OPEN is allowed here.
  'raw-tracepoint': (sys) => {
    let program: Program;
    try {
      program = Program.load({ name: 'probe_raw_tp', type: ProgType.RAW_TRACEPOINT, license: 'GPL', instructions: [Mov.imm(R0, 0), exit()] }, { sys });
    } catch (error) {
      return `This kernel does not load raw tracepoint programs (${describe(error)}), so the thread hooks cannot work.`;
    }
    try {
      RawTracepointLink.attach(program, 'sched_switch').close();
      return undefined;
    } catch (error) {
      return `A raw tracepoint program cannot be attached to sched_switch (${describe(error)}).`;
    } finally {
      program.close();
    }
  },
};

const caches = new WeakMap<Syscalls, Map<FeatureName, FeatureStatus>>();

/**
 * Probes every capability the eBPF backend depends on and says, for each one missing, why in
 * one sentence. Answers are cached per syscall layer (kernels do not change under a running
 * process); `refresh` probes again. The XDP probes attach a trivial program to a veth pair in
 * a throwaway network namespace (made with `ip`), so they touch no real interface.
 */
export function probeFeatures(options: ProbeOptions = {}): FeatureReport {
  const features = FEATURE_NAMES.map((name) => probeFeature(name, options));
  const byName = new Map(features.map((f) => [f.name, f]));
  return {
    features,
    get: (name) => byName.get(name) as FeatureStatus,
    has: (...names) => names.every((name) => byName.get(name)?.available === true),
  };
}

/** Probes one capability (cached like `probeFeatures`). */
export function probeFeature(name: FeatureName, options: ProbeOptions = {}): FeatureStatus {
  const sys = options.sys ?? nativeSyscalls();
  const env = options.env ?? SYSTEM_PROBE_ENVIRONMENT;
  // A custom environment answers for itself; only the real one shares the cache.
  const cache = env === SYSTEM_PROBE_ENVIRONMENT ? cacheOf(sys) : undefined;
  const cached = options.refresh ? undefined : cache?.get(name);
  if (cached !== undefined) return cached;
  let reason: string | undefined;
  try {
    reason = PROBES[name](sys, env);
  } catch (error) {
    reason = `The probe itself failed: ${describe(error)}.`;
  }
  const status: FeatureStatus = reason === undefined ? { name, available: true } : { name, available: false, reason };
  cache?.set(name, status);
  return status;
}

function cacheOf(sys: Syscalls): Map<FeatureName, FeatureStatus> {
  let cache = caches.get(sys);
  if (cache === undefined) {
    cache = new Map();
    caches.set(sys, cache);
  }
  return cache;
}

function refusal(action: () => void, reasons: Readonly<Record<string, string>>): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    if (error instanceof SyscallError) return reasons[error.code] ?? `The kernel refused with ${error.code}: ${error.message}`;
    throw error;
  }
}

function hasCapability(env: ProbeEnvironment, capability: bigint): boolean {
  try {
    const line = env.readFile('/proc/self/status').split('\n').find((l) => l.startsWith('CapEff:'));
    return line !== undefined && ((BigInt(`0x${line.slice('CapEff:'.length).trim()}`) >> capability) & 1n) === 1n;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  if (error instanceof ProgramError || error instanceof LinkError || error instanceof SyscallError) return error.message.replace(/\.$/, '');
  return error instanceof Error ? error.message.replace(/\.$/, '') : String(error);
}

/** Attaches a program returning XDP_PASS to a veth in a namespace made for the purpose, then removes it all. */
function probeXdp(sys: Syscalls, env: ProbeEnvironment, mode: XdpMode): string | undefined {
  const label = mode === 'skb' ? 'Generic (skb) XDP' : 'Driver (native) XDP';
  const ns = `syrup-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  let program: Program;
  try {
    program = Program.load({ name: 'probe_xdp', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, 2), exit()] }, { sys });
  } catch (error) {
    return `${label} cannot be used: this process cannot load an XDP program (${describe(error)}).`;
  }
  try {
    try {
      env.run('ip', ['netns', 'add', ns]);
      env.run('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
      env.run('ip', ['-n', ns, 'link', 'set', 'probe0', 'up']);
      env.run('ip', ['-n', ns, 'link', 'set', 'probe1', 'up']);
    } catch (error) {
      return `${label} could not be tried: making a throwaway veth pair with 'ip' failed (${describe(error)}).`;
    }
    try {
      attachXdp({ program, ifname: 'probe0', mode, netns: ns, sys }).close();
      return undefined;
    } catch (error) {
      return `${label} cannot be attached: ${describe(error)}.`;
    }
  } finally {
    program.close();
    try {
      env.run('ip', ['netns', 'del', ns]);
    } catch {
      // It was never created.
    }
  }
}
