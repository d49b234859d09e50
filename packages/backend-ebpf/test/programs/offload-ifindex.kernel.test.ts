import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethNamespaces, type VethNamespaces } from '@syrup/test-support/veth-namespaces';
import { exit, Mov, R0 } from '../../src/asm/index.js';
import { KernelMapError } from '../../src/errors/kernel-map-error.js';
import { inNetworkNamespace } from '../../src/links/network-namespace.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { Program } from '../../src/programs/program.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { MapType, ProgType } from '../../src/syscalls/bpf-constants.js';
import { caught } from '../support/caught.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const XDP_PASS = 2;

/**
 * A veth has no BPF offload (no ndo_bpf offload ops): the kernel refuses a program or map
 * created for it with prog_ifindex / map_ifindex, so the ifindex really reaches the kernel.
 */
describeKernel('offload ifindex against the kernel', { needs: ['bpf', 'netns'] }, () => {
  let veth: VethNamespaces;
  beforeAll(() => {
    veth = createVethNamespaces({ prefix: 'syrup-offload' });
  });
  afterAll(() => veth?.remove());

  it('refuses a program for a veth with one sentence naming the interface, and leaves no fd behind', () => {
    const before = openFdCount();
    const error = caught(() =>
      inNetworkNamespace(veth.nsA, () =>
        Program.load(
          { name: 'offload_probe', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, XDP_PASS), exit()] },
          { offloadIfindex: veth.ifindexA },
        ),
      ),
    );
    expect(error).toBeInstanceOf(ProgramError);
    expect(error).toMatchObject({ code: 'PROGRAM_OFFLOAD_REFUSED' });
    expect((error as Error).message).toBe(
      `program 'offload_probe' could not be loaded for offload to interface '${veth.ifA}' (ifindex ${veth.ifindexA}): the kernel answered EINVAL, as it does for a device whose driver does not offload BPF programs.`,
    );
    expect(openFdCount()).toBe(before);
    // The same program loads for the host: only the ifindex made the difference.
    using host = Program.load({ name: 'offload_probe', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, XDP_PASS), exit()] });
    expect(host.info().ifindex).toBe(0);
  });

  it('refuses a kernel map and a data map for a veth the same way', () => {
    const before = openFdCount();
    const mapError = caught(() =>
      inNetworkNamespace(veth.nsA, () =>
        KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, name: 'offload_map' }, { offloadIfindex: veth.ifindexA }),
      ),
    );
    expect(mapError).toBeInstanceOf(KernelMapError);
    expect(mapError).toMatchObject({ code: 'KERNEL_MAP_OFFLOAD_REFUSED' });
    expect((mapError as Error).message).toMatch(new RegExp(`^map 'offload_map' could not be created on interface '${veth.ifA}' \\(ifindex ${veth.ifindexA}\\): the kernel answered EINVAL`));
    const storeError = caught(() =>
      inNetworkNamespace(veth.nsA, () =>
        KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'counts', offloadIfindex: veth.ifindexA }),
      ),
    );
    expect(storeError).toMatchObject({ code: 'KERNEL_MAP_OFFLOAD_REFUSED' });
    expect(openFdCount()).toBe(before);
  });
});
