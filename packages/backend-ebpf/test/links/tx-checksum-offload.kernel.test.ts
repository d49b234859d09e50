import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethNamespaces, type VethNamespaces } from '@syrup/test-support/veth-namespaces';
import { LinkError } from '../../src/links/link-error.js';
import { setTxChecksumOffload, txChecksumOffload } from '../../src/links/tx-checksum-offload.js';

describeKernel('tx checksum offload through SIOCETHTOOL (no ethtool binary)', { needs: ['bpf', 'netns'] }, () => {
  let pair: VethNamespaces | undefined;
  beforeAll(() => {
    pair = createVethNamespaces({ prefix: 'syrup-csum' });
  });
  afterAll(() => pair?.remove());

  it('turns a veth\'s tx checksumming off and on again in its own namespace, and only there', () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ifB } = pair;
    // A new veth checksums in software on the peer's behalf: NETIF_F_HW_CSUM is on by default.
    expect(txChecksumOffload(ifB, { netns: nsB })).toBe(true);
    setTxChecksumOffload(ifB, false, { netns: nsB });
    expect(txChecksumOffload(ifB, { netns: nsB })).toBe(false);
    expect(txChecksumOffload(ifA, { netns: nsA })).toBe(true);
    setTxChecksumOffload(ifB, true, { netns: nsB });
    expect(txChecksumOffload(ifB, { netns: nsB })).toBe(true);
  });

  it('says the interface is not in the namespace it was asked in', () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifB } = pair;
    let error: unknown;
    try {
      setTxChecksumOffload(ifB, false, { netns: nsA });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LinkError);
    expect((error as LinkError).message).toBe(`there is no network interface '${ifB}' in network namespace '${nsA}'.`);
  });
});
