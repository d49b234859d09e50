// What a kernel suite can need, and how this process finds out whether it has it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { probeFeature, type FeatureName } from '@syrup/backend-ebpf/features';

/**
 * A need is either something every machine of the kind the tests run on has (CI's machines:
 * root, a BPF-capable kernel, veths), so its absence is a failure under SYRUP_REQUIRE_KERNEL=1;
 * or hardware or a kernel variant those machines lack, so its absence is a skip everywhere.
 */
export type NeedKind = 'machine' | 'variant';

interface NeedDefinition {
  readonly kind: NeedKind;
  /** What the suite does with it, for the reader of the catalogue (not shown in reports). */
  readonly what: string;
  /** Undefined when this process has it, otherwise one sentence saying why not. */
  readonly probe: () => string | undefined;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;

/**
 * The needs vocabulary. Needs on BPF features ask the backend's capability probe
 * (`@syrup/backend-ebpf/features`), so a test and the backend never disagree on whether this
 * machine has, say, driver-mode XDP on a veth; the rest are read from procfs/sysfs or tried
 * with a throwaway child.
 */
const NEEDS = {
  root: {
    kind: 'machine',
    what: 'uid 0 itself: starting processes of other uids, raising priorities back',
    probe: () => (process.getuid?.() === 0 ? undefined : 'this process is not root (uid 0).'),
  },
  bpf: {
    kind: 'machine',
    what: 'the bpf() system call with CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN',
    probe: () => capabilityReason() ?? featureReason('bpf-syscall'),
  },
  bpffs: { kind: 'machine', what: 'pinning under /sys/fs/bpf', probe: () => featureReason('bpffs') },
  netns: {
    kind: 'machine',
    what: "network namespaces and veth pairs made with iproute2's ip",
    probe: netnsReason,
  },
  'xdp-skb': { kind: 'machine', what: 'generic (skb) XDP on a veth', probe: () => featureReason('xdp-generic') },
  'xdp-driver': { kind: 'machine', what: 'driver (native) XDP on a veth', probe: () => featureReason('xdp-driver') },
  'af-xdp': { kind: 'machine', what: 'AF_XDP sockets', probe: () => featureReason('af-xdp') },
  btf: {
    kind: 'machine',
    what: "the kernel's own BTF, for CO-RE relocations and type lookups",
    probe: () => (existsSync('/sys/kernel/btf/vmlinux') ? undefined : 'this kernel exposes no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF is off).'),
  },
  'raw-tracepoint': { kind: 'machine', what: 'raw tracepoint programs attached to sched_switch', probe: () => featureReason('raw-tracepoint') },
  'sched-fifo': {
    kind: 'machine',
    what: 'sched_setattr/sched_setscheduler to SCHED_FIFO',
    probe: schedFifoReason,
  },
  nfp: { kind: 'variant', what: 'a Netronome NFP NIC, for BPF offload', probe: nfpReason },
  ghost: {
    kind: 'variant',
    what: 'a ghOSt kernel',
    probe: () => (existsSync('/sys/fs/ghost') ? undefined : 'this is not a ghOSt kernel (no /sys/fs/ghost).'),
  },
  'sched-ext': {
    kind: 'variant',
    what: 'a kernel with sched_ext',
    probe: () => (existsSync('/sys/kernel/sched_ext') ? undefined : 'this kernel has no sched_ext (no /sys/kernel/sched_ext).'),
  },
} as const satisfies Record<string, NeedDefinition>;

export type Need = keyof typeof NEEDS;
export const NEED_NAMES = Object.keys(NEEDS) as readonly Need[];

export function needKind(need: Need): NeedKind {
  return NEEDS[need].kind;
}

/** A need this process lacks, with the sentence saying why. */
export interface MissingNeed {
  readonly need: Need;
  readonly kind: NeedKind;
  readonly reason: string;
}

// Each need is probed once per test process: the XDP probes make a namespace and a veth pair,
// and a kernel does not change under a running process. The cache lives on globalThis because
// vitest evaluates this module afresh for every test file a worker runs.
const CACHE_KEY = Symbol.for('@syrup/test-support.kernel-needs');
const cache: Map<Need, string | null> = ((globalThis as Record<symbol, unknown>)[CACHE_KEY] ??= new Map()) as Map<Need, string | null>;

/**
 * SYRUP_TEST_WITHOUT=need,need makes those needs answer "missing", to see a suite's skip line
 * and its failure under SYRUP_REQUIRE_KERNEL=1 on a machine that has everything.
 */
const forcedMissing = new Set((process.env['SYRUP_TEST_WITHOUT'] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''));

/** Undefined when this process has `need`, otherwise why not (one sentence). */
export function needReason(need: Need): string | undefined {
  if (!(need in NEEDS)) throw new TypeError(`unknown kernel need '${String(need)}'; the needs are ${NEED_NAMES.join(', ')}.`);
  if (forcedMissing.has(need)) return `SYRUP_TEST_WITHOUT names ${need}.`;
  let answer = cache.get(need);
  if (answer === undefined) {
    let reason: string | undefined;
    try {
      reason = NEEDS[need].probe();
    } catch (error) {
      reason = `probing it failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    answer = reason ?? null;
    cache.set(need, answer);
  }
  return answer ?? undefined;
}

/** The needs of `needs` this process lacks, in the order given. */
export function missingNeeds(needs: readonly Need[]): MissingNeed[] {
  const missing: MissingNeed[] = [];
  for (const need of needs) {
    const reason = needReason(need);
    if (reason !== undefined) missing.push({ need, kind: NEEDS[need].kind, reason });
  }
  return missing;
}

function capabilities(): bigint | string {
  if (process.platform !== 'linux') return `kernel tests need Linux, this is ${process.platform}.`;
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
    return line === undefined ? 0n : BigInt(`0x${line.slice('CapEff:'.length).trim()}`);
  } catch {
    return 'the capabilities of this process cannot be read from /proc/self/status.';
  }
}

function capabilityReason(): string | undefined {
  const capEff = capabilities();
  if (typeof capEff === 'string') return capEff;
  const has = (cap: bigint): boolean => ((capEff >> cap) & 1n) === 1n;
  const missing: string[] = [];
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing.push('CAP_BPF');
  if (!has(CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  return missing.length > 0 ? `this process is not root and lacks ${missing.join(' and ')}.` : undefined;
}

/** The backend's probe, asked only once the capabilities are there (its own sentences assume a Linux with bpf()). */
function featureReason(feature: FeatureName): string | undefined {
  const capability = capabilityReason();
  if (capability !== undefined) return capability;
  const status = probeFeature(feature);
  return status.available ? undefined : lowerFirst(status.reason ?? `the capability probe says ${feature} is unavailable.`);
}

function netnsReason(): string | undefined {
  const ns = `syrup-need-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (error) {
    return `'ip netns add' fails here (${firstLine(error)}), so no network namespace can be made.`;
  }
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'need0', 'type', 'veth', 'peer', 'name', 'need1'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    return undefined;
  } catch (error) {
    return `a veth pair cannot be made (${firstLine(error)}).`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Deleting what was just made does not fail; if it ever does, the name is unique anyway.
    }
  }
}

/** Tried in a child (chrt from util-linux): this process's own policy must not change. */
function schedFifoReason(): string | undefined {
  try {
    execFileSync('chrt', ['-f', '1', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    return undefined;
  } catch (error) {
    return `a process cannot switch itself to SCHED_FIFO here (${firstLine(error)}); it needs root or CAP_SYS_NICE with an RLIMIT_RTPRIO.`;
  }
}

function nfpReason(): string | undefined {
  let interfaces: string[];
  try {
    interfaces = readdirSync('/sys/class/net');
  } catch {
    return 'no network interfaces are listed in /sys/class/net.';
  }
  const nfp = interfaces.find((name) => {
    try {
      return readlinkSync(`/sys/class/net/${name}/device/driver`).endsWith('/nfp');
    } catch {
      return false; // virtual interfaces have no device
    }
  });
  return nfp === undefined ? 'this machine has no Netronome NFP NIC (no interface driven by nfp).' : undefined;
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: Buffer | string }).stderr?.toString().trim();
  const text = stderr !== undefined && stderr !== '' ? stderr : error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.replace(/\.$/, '') ?? 'unknown error';
}

function lowerFirst(sentence: string): string {
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}
