import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/errors/errno.js';
import { FEATURE_NAMES, probeFeatures } from '../../src/features/probe-features.js';
import type { ProbeEnvironment } from '../../src/features/probe-environment.js';
import type { SyscallBuffer } from '../../src/syscalls/syscall-buffer.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

/** A kernel that refuses every bpf() call, as one without privileges or without BPF would. */
class RefusingSyscalls extends FakeSyscalls {
  constructor(readonly errno: number) {
    super();
    this.unsupportedSocketDomains.add(44);
  }

  protected override bpf(command: number, attr: SyscallBuffer): number {
    void command;
    void attr;
    return -this.errno;
  }
}

/** A machine without privileges, without a JIT and without `ip`. */
const bareMachine: ProbeEnvironment = {
  readFile: (path) => {
    if (path === '/proc/self/status') return 'Name:\tnode\nCapEff:\t0000000000000000\n';
    if (path === '/proc/sys/net/core/bpf_jit_enable') return '0\n';
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  },
  run: (command) => {
    throw Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' });
  },
};

describe('capability probe without the capabilities', () => {
  it('says in one sentence why each capability is missing', () => {
    const report = probeFeatures({ sys: new RefusingSyscalls(ERRNO.EPERM), env: bareMachine });
    expect(report.features.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    for (const feature of report.features) {
      expect(feature.available, feature.name).toBe(false);
      expect(feature.reason, feature.name).toMatch(/^[A-Z].*\.$/);
      expect(feature.reason?.split('. ').length, feature.name).toBe(1);
    }
    expect(report.get('bpf-syscall').reason).toMatch(/refused \(EPERM\)/);
    expect(report.get('cap-bpf').reason).toMatch(/neither CAP_BPF nor CAP_SYS_ADMIN/);
    expect(report.get('jit').reason).toMatch(/bpf_jit_enable = 0/);
    expect(report.get('bpffs').reason).toMatch(/No bpf filesystem is mounted/);
    expect(report.get('xdp-generic').reason).toMatch(/cannot load an XDP program/);
    expect(report.get('af-xdp').reason).toMatch(/no AF_XDP sockets/);
    expect(report.get('sk-reuseport').reason).toMatch(/does not load SK_REUSEPORT/);
    expect(report.has('ringbuf')).toBe(false);
  });

  it('names the missing kernel features of an old kernel', () => {
    const report = probeFeatures({ sys: new RefusingSyscalls(ERRNO.EINVAL), env: bareMachine });
    expect(report.get('ringbuf').reason).toBe('This kernel has no BPF ring buffer maps (they arrived in 5.8).');
    expect(report.get('mmapable-array').reason).toMatch(/BPF_F_MMAPABLE arrived in 5.5/);
  });

  it('reports a failed veth setup when programs load but `ip` is missing', () => {
    const report = probeFeatures({ sys: new FakeSyscalls(), env: bareMachine });
    expect(report.get('bpf-syscall').available).toBe(true);
    expect(report.get('xdp-driver').reason).toMatch(/^Driver \(native\) XDP could not be tried: making a throwaway veth pair with 'ip' failed/);
  });
});
