import { afterEach, expect, it } from 'vitest';
import { STANDARD_HOOKS } from '@syrup/core';
import { EbpfBackend } from '../../../src/ebpf-backend.js';
import type { SocketGroupAttachment } from '../../../src/hooks/socket-select/socket-group-attachment.js';
import { SocketSelectError } from '../../../src/hooks/socket-select/socket-select-error.js';
import { SocketSelectHook } from '../../../src/hooks/socket-select/socket-select-hook.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import {
  deployer,
  ownSocketInodes,
  policyUnit,
  pythonReceived,
  pythonServer,
  Senders,
  socketInodesOf,
  udpPortInUse,
  waitFor,
  type PythonChild,
} from './support.js';

const SOCKETS = 4;

function shared(a: ReadonlySet<number>, b: ReadonlySet<number>): number[] {
  return [...a].filter((x) => b.has(x));
}

describeKernel('socket-select deployed onto the sockets of a process without Syrup code', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const children: PythonChild[] = [];
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    for (const child of children.splice(0)) child.kill();
  });

  async function sendRequests(port: number, count: number): Promise<void> {
    const from = await Senders.open(5);
    try {
      for (let i = 0; i < count; i++) await from.send(i, port, Buffer.from([0, 0, 0, i & 0xff]));
    } finally {
      from.close();
    }
  }

  it('steers a Python server\'s datagrams by pid and by port, and keeps no reference to its sockets', async () => {
    const server = await pythonServer(SOCKETS);
    children.push(server.child);
    const theirs = socketInodesOf(server.pid, server.fds);
    expect(theirs.size).toBe(SOCKETS);

    const byPid = await deploy(policyUnit('std:round-robin', { SOCKETS }), { port: server.port, pid: server.pid });
    // The sockets were taken with pidfd_getfd and closed again once in the socket array.
    expect(shared(ownSocketInodes(), theirs)).toEqual([]);
    await sendRequests(server.port, 400);
    expect((await pythonReceived(server.child, 400)).map((l) => l.length)).toEqual([100, 100, 100, 100]);
    await byPid.undeploy();

    await server.child.ask('reset');
    const byPort = await deploy(policyUnit('std:round-robin', { SOCKETS }), { port: server.port });
    await sendRequests(server.port, 400);
    expect((await pythonReceived(server.child, 400)).map((l) => l.length)).toEqual([100, 100, 100, 100]);
    expect(shared(ownSocketInodes(), theirs)).toEqual([]);

    // The server exits with the deployment still active: its sockets close, and with them the group.
    expect(await server.child.end()).toBe(0);
    expect(await waitFor(() => !udpPortInUse(server.port))).toBe(true);
    expect(shared(ownSocketInodes(), theirs)).toEqual([]);
    // Undeploying what is left is harmless.
    await byPort.undeploy();
    expect(byPort.state).toBe('undeployed');
  });

  it('the attachment exposes the owner, empties with it, and then refuses a replace and closes quietly', async () => {
    const server = await pythonServer(SOCKETS);
    children.push(server.child);
    const backend = new EbpfBackend([new SocketSelectHook()]);
    const unit = policyUnit('std:round-robin', { SOCKETS });
    const artifact = await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: STANDARD_HOOKS['socket-select'], source: unit.source! });
    const attachment = (await backend.attach({ artifact, target: { port: server.port, pid: server.pid } })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    expect(attachment.pid).toBe(server.pid);
    expect(attachment.group).toMatchObject({ protocol: 'udp', address: '127.0.0.1', port: server.port, pid: server.pid });
    // Executor k is the server's k-th socket in fd order (it created them in that order).
    expect(attachment.group.inodes).toHaveLength(SOCKETS);
    expect(attachment.group.inodes).toEqual([...socketInodesOf(server.pid, server.fds)]);
    for (let k = 0; k < SOCKETS; k++) expect(attachment.executors.get(k)).toBeTypeOf('bigint');

    await server.child.end();
    // The kernel removes each entry when its socket closes; nothing of ours kept one alive.
    for (let k = 0; k < SOCKETS; k++) expect(attachment.executors.get(k)).toBeUndefined();
    const error = await attachment.replace(artifact).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SocketSelectError);
    expect((error as SocketSelectError).code).toBe('SOCKET_SELECT_GROUP_GONE');
    await attachment.close();
    await attachment.close();
    expect(attachment.closed).toBe(true);
  });
});
