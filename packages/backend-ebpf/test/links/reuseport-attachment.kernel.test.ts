import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Fd } from '../../src/fd.js';
import { LinkError } from '../../src/links/link-error.js';
import { ReuseportAttachment } from '../../src/links/reuseport-attachment.js';
import { ReuseportSockArray } from '../../src/maps/system/reuseport-sock-array.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { loadReuseport, selectByFirstByte, SK_PASS } from '../support/reuseport-programs.js';
import { boundPort, collect, reuseportUdpSocket, sendDatagrams } from '../support/sockets.js';
import { loadXdp, returning } from '../support/xdp-programs.js';
import { Mov, R0, exit } from '../../src/asm/index.js';
import { caught } from '../support/caught.js';

describeKernel('reuseport group attachments', { needs: ['bpf'] }, () => {
  const sys = nativeSyscalls();
  let sockets: Fd[] = [];
  let port = 0;
  beforeEach(() => {
    const first = reuseportUdpSocket(sys, 0);
    port = boundPort(first);
    sockets = [first, ...Array.from({ length: 3 }, () => reuseportUdpSocket(sys, port))];
  });
  afterEach(() => {
    for (const socket of sockets) socket.close();
  });

  it('steers each datagram to the socket its policy selects, for the whole group, until detached', async () => {
    using array = ReuseportSockArray.create({ maxEntries: 4, name: 'group' });
    sockets.forEach((socket, i) => array.set(i, socket));
    using program = loadReuseport('by_byte', selectByFirstByte(), { sockets: array });
    // Attached through the last socket, the program serves all four.
    const attachment = ReuseportAttachment.attach(sockets[3] as Fd, program);
    const payloads = [0, 1, 2, 3, 3, 2, 1, 0, 0, 0].map((k) => [k, 0xaa]);
    await sendDatagrams(port, payloads);
    const got = await collect(sockets, payloads.length);
    expect(got.map((list) => list.map((d) => d[0]))).toEqual([[0, 0, 0, 0], [1, 1], [2, 2], [3, 3]]);

    // 0xff is dropped by the policy: nothing arrives anywhere.
    await sendDatagrams(port, [[0xff], [0xff]]);
    expect((await collect(sockets, 1, 200)).flat()).toHaveLength(0);

    // An emptied slot makes sk_select_reuseport fail, and the kernel falls back to its hash.
    array.delete(2);
    await sendDatagrams(port, [[2], [2], [2]]);
    expect((await collect(sockets, 3)).flat()).toHaveLength(3);

    attachment.detach();
    attachment.detach();
    expect(attachment.detached).toBe(true);
    // Without a program the group hashes, and even 0xff is delivered somewhere.
    await sendDatagrams(port, [[0xff], [0xff]]);
    expect((await collect(sockets, 2)).flat()).toHaveLength(2);
  });

  it('replaces the group program in one step and keeps it after the object is disposed', async () => {
    using array = ReuseportSockArray.create({ maxEntries: 4, name: 'group2' });
    sockets.forEach((socket, i) => array.set(i, socket));
    using byByte = loadReuseport('by_byte', selectByFirstByte(), { sockets: array });
    using dropAll = loadReuseport('drop_all', [Mov.imm(R0, 0), exit()]);
    {
      using attachment = ReuseportAttachment.attach(sockets[0] as Fd, byByte);
      attachment.replace(dropAll);
      expect(attachment.program).toBe(dropAll);
    }
    // Disposed without detachOnDispose: the group still drops everything.
    await sendDatagrams(port, [[1], [2]]);
    expect((await collect(sockets, 1, 200)).flat()).toHaveLength(0);
    {
      using attachment = ReuseportAttachment.attach(sockets[1] as Fd, byByte, { detachOnDispose: true });
      await sendDatagrams(port, [[1]]);
      expect((await collect(sockets, 1)).map((l) => l.length)).toEqual([0, 1, 0, 0]);
      expect(attachment.detached).toBe(false);
    }
    // Disposed with detachOnDispose: hashing again.
    await sendDatagrams(port, [[0xff]]);
    expect((await collect(sockets, 1)).flat()).toHaveLength(1);
  });

  it('refuses programs of other types and sockets without SO_REUSEPORT', () => {
    using xdp = loadXdp('xdp', returning(2));
    expect((caught(() => ReuseportAttachment.attach(sockets[0] as Fd, xdp)) as LinkError).code).toBe('LINK_INCOMPATIBLE');
    using program = loadReuseport('pass', [Mov.imm(R0, SK_PASS), exit()]);
    using plain = sys.socket(2, 2, 0);
    const error = caught(() => ReuseportAttachment.attach(plain, program)) as LinkError;
    expect(error.code).toBe('REUSEPORT_ATTACH_FAILED');
    expect(error.message).toMatch(/EINVAL/);
  });
});
