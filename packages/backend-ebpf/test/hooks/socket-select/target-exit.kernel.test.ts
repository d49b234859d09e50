import { afterEach, expect, it } from 'vitest';
import { STANDARD_HOOKS } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { EbpfBackend } from '../../../src/ebpf-backend.js';
import type { SocketGroupAttachment } from '../../../src/hooks/socket-select/socket-group-attachment.js';
import { SocketSelectHook } from '../../../src/hooks/socket-select/socket-select-hook.js';
import { ReadinessPoller } from '../../../src/readiness/readiness-poller.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { deployer, policyUnit, PythonChild, pythonReceived, pythonServer, Senders, udpPortInUse, waitFor } from './support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const SOCKETS = 4;
const FLOWS = 64;

describeKernel('socket-select: the deployment ends when its target process exits', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const children: PythonChild[] = [];
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    for (const child of children.splice(0)) child.kill();
    await ReadinessPoller.of(nativeSyscalls()).stopped();
  });

  /** The socket each flow lands on: flow f sends one datagram with sequence number f. */
  async function mapping(child: PythonChild, port: number, flows: Senders): Promise<number[]> {
    await child.ask('reset');
    for (let f = 0; f < FLOWS; f++) await flows.send(f, port, Buffer.from([0, 0, 0, f]));
    const received = await pythonReceived(child, FLOWS);
    const socketOf: number[] = [];
    received.forEach((list, socket) => list.forEach((seq) => (socketOf[seq] = socket)));
    return socketOf;
  }

  async function killed(child: PythonChild): Promise<void> {
    child.kill();
    await child.exited;
  }

  it('undeploys within a second of a SIGKILL, and a new server on the port gets the kernel\'s own placement', async () => {
    const flows = await Senders.open(FLOWS);
    cleanup.push(() => flows.close());
    const first = await pythonServer(SOCKETS);
    children.push(first.child);
    const port = first.port;
    const without = await mapping(first.child, port, flows);
    // The kernel's hash spreads the flows, so "all on socket 0" below is the policy's doing.
    expect(new Set(without).size).toBeGreaterThan(1);

    const d = await deploy(policyUnit('first-socket.ts'), { port, pid: first.pid });
    const events: string[] = [];
    for (const name of ['target-exited', 'will-undeploy', 'undeployed'] as const) d.on(name, () => events.push(name));
    expect(await mapping(first.child, port, flows)).toEqual(new Array<number>(FLOWS).fill(0));

    await killed(first.child);
    const exitedAt = Date.now();
    expect(await waitFor(() => d.state === 'undeployed', 1000)).toBe(true);
    expect(Date.now() - exitedAt).toBeLessThan(1000);
    expect(events).toEqual(['target-exited', 'will-undeploy', 'undeployed']);
    expect(d.maps).toEqual({});
    // Undeploying again is harmless.
    await d.undeploy();
    expect(await waitFor(() => !udpPortInUse(port))).toBe(true);

    // A new, unmodified server on the same port, with the same number of sockets, forms a new
    // group: every flow lands where it did before any deployment, so nothing of ours steers it.
    const second = new PythonChild('reuseport-server.py', [String(SOCKETS), String(port)]);
    children.push(second);
    await second.next();
    expect(await mapping(second, port, flows)).toEqual(without);
    // The watch thread went with the deployment.
    expect(await waitFor(() => !ReadinessPoller.of(nativeSyscalls()).active, 1000)).toBe(true);
  });

  it('the attachment calls its listener once when the owner exits, and not after close()', async () => {
    const backend = new EbpfBackend([new SocketSelectHook()]);
    const unit = policyUnit('first-socket.ts');
    const artifact = await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: STANDARD_HOOKS['socket-select'], source: unit.source! });

    const server = await pythonServer(SOCKETS);
    children.push(server.child);
    const attachment = (await backend.attach({ artifact, target: { port: server.port, pid: server.pid } })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    let calls = 0;
    attachment.onTargetExit(() => calls++);
    attachment.onTargetExit(() => calls++);
    // Replacing keeps the watch: it follows the group's owner, not the program.
    await attachment.replace(artifact);
    expect(ReadinessPoller.of(nativeSyscalls()).active).toBe(true);
    await killed(server.child);
    expect(await waitFor(() => calls === 2, 1000)).toBe(true);
    // Called once per listener; the watch ended with the report, and so did the thread.
    expect(ReadinessPoller.of(nativeSyscalls()).active).toBe(false);
    attachment.onTargetExit(() => calls++);
    await attachment.close();
    await attachment.close();
    expect(calls).toBe(2);

    // Closed before the owner exits: the listener never runs and no thread stays.
    const other = await pythonServer(SOCKETS);
    children.push(other.child);
    const early = (await backend.attach({ artifact, target: { port: other.port, pid: other.pid } })) as SocketGroupAttachment;
    let late = 0;
    early.onTargetExit(() => late++);
    await early.close();
    expect(ReadinessPoller.of(nativeSyscalls()).active).toBe(false);
    await killed(other.child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(late).toBe(0);
  });

  it('leaves no fd and no thread behind over several deploy, kill, undeploy cycles', async () => {
    const poller = ReadinessPoller.of(nativeSyscalls());
    const cycle = async (): Promise<void> => {
      const server = await pythonServer(SOCKETS);
      children.push(server.child);
      const d = await deploy(policyUnit('first-socket.ts'), { port: server.port, pid: server.pid });
      await killed(server.child);
      expect(await waitFor(() => d.state === 'undeployed', 1000)).toBe(true);
      await poller.stopped();
    };
    // One warm-up cycle: koffi, the compiler and the child-process plumbing open fds once.
    await cycle();
    const before = openFdCount();
    for (let i = 0; i < 5; i++) await cycle();
    expect(poller.active).toBe(false);
    expect(openFdCount()).toBe(before);
  });
});
