import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkError } from '../../src/links/link-error.js';
import { inNetworkNamespace } from '../../src/links/network-namespace.js';
import { interfaceIndex } from '../../src/links/interface-index.js';
import { attachXdp, XdpLink } from '../../src/links/xdp-link.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { ensureBpffs } from '../../src/pin/bpffs.js';
import { unpin } from '../../src/pin/pin.js';
import { LinkType } from '../../src/syscalls/bpf-constants.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { removePinRoot, uniquePinRoot } from '../support/pin-root.js';
import { runTsScript } from '../support/ts-process.js';
import { createVethPair, sendUdp, xdpAttachment, type VethPair } from '../support/veth-pair.js';
import { countingUdp, loadXdp, returning, XDP_DROP, XDP_PASS } from '../support/xdp-programs.js';
import { caught } from '../support/caught.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const PORT = 40_123;
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describeKernel('XDP links on a veth pair in private namespaces', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb', 'xdp-driver'] }, () => {
  let pair: VethPair | undefined;
  let root = '';
  beforeAll(() => {
    pair = createVethPair();
    root = ensureBpffs(uniquePinRoot());
  });
  afterAll(() => {
    pair?.remove();
    if (root !== '') removePinRoot(root);
  });
  const net = (): VethPair => {
    if (pair === undefined) throw new Error('the veth pair was not created');
    return pair;
  };

  for (const mode of ['skb', 'drv'] as const) {
    it(`attaches in ${mode} mode, updates in place and detaches, as the traffic counters show`, () => {
      const { nsA, nsB, ifA, ipA, ifindexA } = net();
      using counters = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 }, { name: `count_${mode}` });
      using first = loadXdp('first', countingUdp(PORT, 0, XDP_PASS), { counters: counters.kernelMap });
      using second = loadXdp('second', countingUdp(PORT, 1, XDP_DROP), { counters: counters.kernelMap });
      using link = attachXdp({ program: first, ifname: ifA, mode, netns: nsA });
      expect(link.info()).toMatchObject({ type: LinkType.XDP, progId: first.info().id, ifindex: ifindexA });
      expect(xdpAttachment(nsA, ifA)).toEqual({ mode, progIds: [first.info().id] });

      sendUdp(nsB, ipA, PORT, 5);
      expect(counters.lookup(0)).toEqual([5n]);

      link.update(second, { expected: first });
      expect(link.info().progId).toBe(second.info().id);
      expect(link.program).toBe(second);
      sendUdp(nsB, ipA, PORT, 3);
      expect(counters.lookup(0)).toEqual([5n]);
      expect(counters.lookup(1)).toEqual([3n]);

      const stale = caught(() => link.update(first, { expected: first })) as LinkError;
      expect(stale.code).toBe('LINK_UPDATE_FAILED');
      expect(stale.message).toMatch(/no longer runs the expected/);

      link.detach();
      link.detach();
      expect(link.info().ifindex).toBe(0);
      expect(xdpAttachment(nsA, ifA)).toBeUndefined();
      sendUdp(nsB, ipA, PORT, 2);
      expect(counters.lookup(0)).toEqual([5n]);
      expect(counters.lookup(1)).toEqual([3n]);
      link.close();
      link.close();
      expect((caught(() => link.info()) as LinkError).code).toBe('LINK_CLOSED');
    }, 60_000);
  }

  it('detaches when an unpinned link is closed, and holds the interface against a second attach meanwhile', () => {
    const { nsA, ifA } = net();
    using program = loadXdp('pass', returning(XDP_PASS));
    const link = attachXdp({ program, ifname: ifA, mode: 'skb', netns: nsA });
    const busy = caught(() => attachXdp({ program, ifname: ifA, mode: 'skb', netns: nsA })) as LinkError;
    expect(busy.code).toBe('LINK_ATTACH_FAILED');
    expect(busy.message).toMatch(/EBUSY|EEXIST/);
    expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([program.info().id]);
    link.close();
    expect(xdpAttachment(nsA, ifA)).toBeUndefined();
  });

  it('fails cleanly on an interface that does not exist', () => {
    using program = loadXdp('pass', returning(XDP_PASS));
    const before = openFdCount();
    const byIndex = caught(() => attachXdp({ program, ifindex: 999_999, mode: 'skb' })) as LinkError;
    expect(byIndex.code).toBe('LINK_ATTACH_FAILED');
    expect(byIndex.message).toMatch(/EINVAL|ENODEV/);
    const byName = caught(() => attachXdp({ program, ifname: 'nosuchif0', mode: 'skb', netns: net().nsA })) as LinkError;
    expect(byName.code).toBe('INTERFACE_NOT_FOUND');
    expect(openFdCount()).toBe(before);
  });

  it('resolves interface names in the namespace it is asked to', () => {
    const { nsA, ifA, ifindexA } = net();
    expect(inNetworkNamespace(nsA, () => interfaceIndex(ifA))).toBe(ifindexA);
    // Back home, the namespace's interface is unknown.
    expect((caught(() => interfaceIndex(ifA)) as LinkError).code).toBe('INTERFACE_NOT_FOUND');
    expect((caught(() => inNetworkNamespace('syrup-no-such-ns', () => 1)) as LinkError).code).toBe('NETNS_FAILED');
  });

  describe('pinned links', () => {
    it('keeps a pinned link attached after the process that made it exits, until unpinned', async () => {
      const dir = `${root}/survivor`;
      ensureBpffs(dir);
      try {
        await survivesItsCreator(dir);
      } finally {
        // Whatever failed, no pinned link may stay attached for the next test.
        unpin(`${dir}/link`);
        unpin(`${dir}/counters`);
      }
    }, 60_000);

    async function survivesItsCreator(dir: string): Promise<void> {
      const { nsA, nsB, ifA, ipA, ifindexA } = net();
      const child = await runTsScript(fixture('attach-pin-and-exit.ts'), [nsA, ifA, dir, String(PORT)]);
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      const ids = JSON.parse(child.stdout) as { linkId: number; progId: number };
      expect(xdpAttachment(nsA, ifA)).toEqual({ mode: 'skb', progIds: [ids.progId] });

      const pinned = XdpLink.open(`${dir}/link`);
      expect(pinned.info()).toMatchObject({ id: ids.linkId, progId: ids.progId, ifindex: ifindexA });
      using counters = KernelDataMapStore.open(`${dir}/counters`);
      sendUdp(nsB, ipA, PORT, 4);
      expect(counters.lookup(0)).toEqual([4n]);

      // Closing the fd leaves a pinned link attached.
      pinned.close();
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([ids.progId]);

      const again = XdpLink.open(`${dir}/link`);
      const link = again.unpin();
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([ids.progId]);
      link.close();
      expect(xdpAttachment(nsA, ifA)).toBeUndefined();
      sendUdp(nsB, ipA, PORT, 2);
      expect(counters.lookup(0)).toEqual([4n]);
    }

    it('pins a link of this process and reopens it as a PinnedLink', () => {
      const { nsA, ifA } = net();
      using program = loadXdp('pass', returning(XDP_PASS));
      const link = attachXdp({ program, ifname: ifA, mode: 'drv', netns: nsA });
      let pinned;
      try {
        pinned = link.pin(`${root}/mine`);
      } finally {
        link.close();
      }
      expect(pinned.path).toBe(`${root}/mine`);
      expect(xdpAttachment(nsA, ifA)?.mode).toBe('drv');
      using reopened = XdpLink.open(`${root}/mine`);
      try {
        expect(reopened.link.program).toBeUndefined();
        reopened.detach();
        expect(xdpAttachment(nsA, ifA)).toBeUndefined();
      } finally {
        reopened.unpin();
      }
    });
  });
});
