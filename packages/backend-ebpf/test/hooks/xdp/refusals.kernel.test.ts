import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { XdpHookError } from '../../../src/hooks/xdp/xdp-hook-error.js';
import { attachXdp } from '../../../src/links/xdp-link.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { XskError } from '../../../src/xsk/xsk-error.js';
import { XskServer } from '../../../src/xsk/xsk-server.js';
import { XskSocketGroup } from '../../../src/xsk/xsk-socket-group.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, sendUdp, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import { loadXdp, returning, XDP_PASS } from '../../support/xdp-programs.js';
import { compileFor, waitUntil, xdpBackend } from './xdp-test-support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const PORT_A = 41_500;
const PORT_B = 41_501;

async function refusal(action: () => Promise<unknown>): Promise<XdpHookError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof XdpHookError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** A refusal is one sentence: one line, ending with a full stop. */
function expectOneSentence(error: Error): void {
  expect(error.message).not.toMatch(/\n/);
  expect(error.message).toMatch(/\.$/);
}

describeKernel('XDP hook refusals leave nothing behind', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('refuses an interface that does not exist, with no fd left open', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const backend = xdpBackend();
    for (const hook of ['xdp-skb', 'xdp-drv', 'cpu-redirect'] as const) {
      const target = { interface: 'nosuch0', port: PORT_A, extra: { netns: pair.nsA, ...(hook === 'cpu-redirect' ? {} : { xskCount: 2 }) } };
      const artifact = await compileFor(backend, hook, 'std:round-robin', target, { SOCKETS: 2 });
      const before = openFdCount();
      const error = await refusal(() => backend.attach({ artifact, target }));
      expect(openFdCount()).toBe(before);
      expect(error.code).toBe('XDP_INTERFACE_NOT_FOUND');
      expect(error.message).toContain("'nosuch0'");
      expectOneSentence(error);
    }
  }, 60_000);

  it('refuses a second UMEM on a queue that already has one, leaving the first deployment serving and nothing half-attached', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA } = pair;
    const backend = xdpBackend();
    const targetA = { interface: ifA, port: PORT_A, queue: 0, extra: { netns: nsA, xskCount: 2 } };
    const first = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', 'std:round-robin', targetA, { SOCKETS: 2 }), target: targetA })) as XdpAttachment;
    try {
      const programIds = xdpAttachment(nsA, ifA)?.progIds;
      const targetB = { interface: ifA, port: PORT_B, queue: 0, extra: { netns: nsA, xskCount: 3 } };
      const artifactB = await compileFor(backend, 'xdp-skb', 'std:round-robin', targetB, { SOCKETS: 3 });
      const before = openFdCount();
      const error = await refusal(() => backend.attach({ artifact: artifactB, target: targetB }));
      expect(openFdCount()).toBe(before);
      expect(error.code).toBe('XDP_QUEUE_BUSY');
      expect(error.message).toMatch(/queue 0 of '.+' .*already has an AF_XDP UMEM/);
      expectOneSentence(error);
      // The same refusal one level down, for an application opening sockets itself.
      const direct = await XskSocketGroup.open({ ifname: ifA, netns: nsA, count: 1, teardownWaitMs: 0 }).then(
        (group) => {
          group.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(direct).toBeInstanceOf(XskError);
      expect((direct as XskError).code).toBe('XSK_QUEUE_BUSY');
      expect(openFdCount()).toBe(before);

      // Nothing of the refused deployment is left: the same root program, only the first port routed.
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual(programIds);
      expect([...(backend.dispatchers.running(first.ifindex, nsA)?.ports.keys() ?? [])]).toEqual([PORT_A]);
      let received = 0;
      const server = new XskServer(first.sockets, () => {
        received++;
        return undefined;
      }).start();
      try {
        sendUdp(nsB, ipA, PORT_A, 4);
        expect(await waitUntil(() => received === 4)).toBe(true);
      } finally {
        server.close();
      }
    } finally {
      await first.close();
    }
    expect(xdpAttachment(nsA, ifA)).toBeUndefined();
  }, 60_000);

  it('refuses a port another policy serves on the interface, and a mode the running dispatcher does not use', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const backend = xdpBackend();
    const target = { interface: ifA, port: PORT_A, extra: { netns: nsA, xskCount: 1 } };
    const first = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', 'std:round-robin', target, { SOCKETS: 1 }), target })) as XdpAttachment;
    try {
      const samePort = { interface: ifA, port: PORT_A, extra: { netns: nsA } };
      const before = openFdCount();
      const taken = await refusal(async () => backend.attach({ artifact: await compileFor(backend, 'cpu-redirect', 'by-first-word.ts', samePort), target: samePort }));
      expect(taken.code).toBe('XDP_PORT_TAKEN');
      expectOneSentence(taken);
      const drv = { interface: ifA, port: PORT_B, extra: { netns: nsA } };
      const conflict = await refusal(async () => backend.attach({ artifact: await compileFor(backend, 'xdp-drv', 'by-first-word.ts', drv), target: drv }));
      expect(conflict.code).toBe('XDP_MODE_CONFLICT');
      expect(conflict.message).toContain('skb mode');
      expectOneSentence(conflict);
      expect(openFdCount()).toBe(before);
      expect([...(backend.dispatchers.running(first.ifindex, nsA)?.ports.keys() ?? [])]).toEqual([PORT_A]);
    } finally {
      await first.close();
    }
  }, 60_000);

  it('refuses an interface another XDP program holds, and undeploying twice or replacing after it is harmless or refused', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const backend = xdpBackend();
    const target = { interface: ifA, port: PORT_A, extra: { netns: nsA, xskCount: 1 } };
    const artifact = await compileFor(backend, 'xdp-skb', 'std:round-robin', target, { SOCKETS: 1 });
    {
      using foreign = loadXdp('foreign', returning(XDP_PASS));
      using link = attachXdp({ program: foreign, ifname: ifA, mode: 'skb', netns: nsA });
      const before = openFdCount();
      const busy = await refusal(() => backend.attach({ artifact, target }));
      expect(busy.code).toBe('XDP_ATTACH_FAILED');
      expect(busy.message).toContain('another XDP program is already attached');
      expectOneSentence(busy);
      expect(openFdCount()).toBe(before);
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([foreign.info().id]);
      link.close();
    }
    const attachment = (await backend.attach({ artifact, target })) as XdpAttachment;
    const wrongHook = await compileFor(backend, 'cpu-redirect', 'by-first-word.ts', { interface: ifA, port: PORT_A, extra: { netns: nsA } });
    const mismatch = await refusal(() => attachment.replace(wrongHook));
    expect(mismatch.code).toBe('XDP_ARTIFACT_MISMATCH');
    await attachment.close();
    await attachment.close();
    expect(xdpAttachment(nsA, ifA)).toBeUndefined();
    expect((await refusal(() => attachment.replace(artifact))).code).toBe('XDP_CLOSED');
  }, 60_000);
});
