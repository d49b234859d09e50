import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compilePolicy, type PolicyIr } from '@syrup/core';
import { standardPolicyPath } from '@syrup/policies-std';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethNamespaces, ip, type VethNamespaces } from '@syrup/test-support/veth-namespaces';
import { NfpBackend, NfpError } from '../src/index.js';
import { openFdCount } from '@syrup/test-support/open-fds';

async function refusal(action: () => Promise<unknown>): Promise<NfpError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(NfpError);
    return error as NfpError;
  }
  throw new Error('the attach was not refused');
}

const KEY_HASH = readFileSync(standardPolicyPath('key-hash'), 'utf8');
const COUNTER = `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'offload-counter', input: 'udp',
  maps: { seen: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 } },
  schedule(pkt, { seen }) { seen.fetchAdd(pkt.srcPort, 1); return pkt.srcPort & 3; },
});`;

/**
 * The offload load path on a machine without the NIC: everything up to the kernel's
 * refusal runs for real (validation, code generation, BPF_MAP_CREATE with map_ifindex and
 * BPF_PROG_LOAD with prog_ifindex on a veth), and the refusal is one sentence naming the
 * interface, with no fd, program, map or XDP attachment left behind.
 */
describeKernel('xdp-offload on a device without BPF offload (a veth)', { needs: ['bpf', 'netns'] }, () => {
  let veth: VethNamespaces;
  const backend = new NfpBackend();
  beforeAll(() => {
    veth = createVethNamespaces({ prefix: 'syrup-nfp', subnet: '10.199.7' });
  });
  afterAll(() => veth?.remove());

  const deploy = async (fileName: string, text: string, target: { interface: string; extra?: Record<string, unknown> }): Promise<unknown> => {
    const ir: PolicyIr = compilePolicy({ fileName, text }).ir;
    const artifact = await backend.compile({ policy: ir.manifest, ir, hook: backend.hooks[0]!, source: { fileName, text }, target: { ...target, port: 9000 } });
    const attachment = await backend.attach({ artifact, target: { ...target, port: 9000 } });
    await attachment.close();
    return attachment;
  };

  it('refuses key-hash at the program load with one sentence, and leaves nothing loaded', async () => {
    const before = openFdCount();
    const error = await refusal(() => deploy('key-hash.ts', KEY_HASH, { interface: veth.ifA, extra: { netns: veth.nsA } }));
    expect(error.code).toBe('NFP_DEVICE_NOT_CAPABLE');
    expect(error.message).toBe(
      `interface '${veth.ifA}' (ifindex ${veth.ifindexA}) cannot run an offloaded policy: its driver does not offload BPF to the device (the kernel refused the program with EINVAL), and xdp-offload needs a Netronome NFP with BPF firmware.`,
    );
    expect(openFdCount()).toBe(before);
    expect(JSON.parse(ip('-n', veth.nsA, '-j', 'link', 'show', veth.ifA))[0].xdp).toBeUndefined();
  });

  it('refuses a policy with a map at the map, first, the same way', async () => {
    const before = openFdCount();
    const error = await refusal(() => deploy('offload-counter.ts', COUNTER, { interface: veth.ifA, extra: { netns: veth.nsA } }));
    expect(error.code).toBe('NFP_DEVICE_NOT_CAPABLE');
    expect(error.message).toBe(
      `interface '${veth.ifA}' (ifindex ${veth.ifindexA}) cannot run an offloaded policy: its driver does not offload BPF to the device (the kernel refused the map with EINVAL), and xdp-offload needs a Netronome NFP with BPF firmware.`,
    );
    expect(openFdCount()).toBe(before);
  });

  it('names an interface the namespace does not have', async () => {
    const error = await refusal(() => deploy('key-hash.ts', KEY_HASH, { interface: 'nosuchnfp0', extra: { netns: veth.nsA } }));
    expect(error.code).toBe('NFP_TARGET_INVALID');
    expect(error.message).toBe("there is no network interface 'nosuchnfp0' in this network namespace.");
  });
});
