import { afterEach, describe, expect, it } from 'vitest';
import { ReadinessPoller } from '../../src/readiness/readiness-poller.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

/** One turn of the event loop: long enough for the fake's waiting thread to report. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let sys: FakeSyscalls;

afterEach(async () => {
  await ReadinessPoller.of(sys).stopped();
});

/**
 * The poller reaches epoll only through the syscall layer (epollCreate, epollCtl,
 * epollWaitThread), so its one-shot, level-triggered contract is checked here over the fake
 * kernel's epoll model; the kernel tests of ring buffers and target processes run it natively.
 */
describe('ReadinessPoller over the fake kernel', () => {
  it('reports a readable fd once per arm, while it stays readable, and not before it is armed', async () => {
    sys = new FakeSyscalls();
    const poller = ReadinessPoller.of(sys);
    using socket = sys.createSocket();
    const reports: (Error | undefined)[] = [];
    const watch = poller.watch(socket, (error) => reports.push(error));
    expect(poller.active).toBe(true);

    sys.signalReadable(socket);
    await turn();
    expect(reports).toEqual([]);

    watch.arm();
    await turn();
    expect(reports).toEqual([undefined]);
    // One-shot: still readable, but nothing more until armed again.
    await turn();
    expect(reports).toHaveLength(1);
    watch.arm();
    await turn();
    expect(reports).toHaveLength(2);

    sys.signalReadable(socket, false);
    watch.arm();
    await turn();
    expect(reports).toHaveLength(2);
    sys.signalReadable(socket);
    await turn();
    expect(reports).toHaveLength(3);
    watch.close();
  });

  it('stops its thread and closes its epoll set and eventfd once the last watch closes', async () => {
    sys = new FakeSyscalls();
    const poller = ReadinessPoller.of(sys);
    using socket = sys.createSocket();
    const before = sys.openFds();
    const watch = poller.watch(socket, () => undefined);
    expect(sys.openFds()).toHaveLength(before.length + 2);
    watch.close();
    expect(poller.active).toBe(false);
    await poller.stopped();
    expect(sys.openFds()).toEqual(before);
    expect(sys.count('write')).toBe(1);
  });

  it('hands a failing wait to every watch as an error and releases the set', async () => {
    sys = new FakeSyscalls();
    // The premise, on the page: the waiting thread fails as soon as it starts.
    using _failingWait = sys.override('epollWaitThread', (_epoll, _stopToken, listener) => {
      setImmediate(() => listener.failed(new Error('epoll_wait failed with errno 9.')));
      return { ended: Promise.resolve(), keepAlive: () => undefined, terminate: () => undefined };
    });
    const poller = ReadinessPoller.of(sys);
    using socket = sys.createSocket();
    const before = sys.openFds();
    const reports: (Error | undefined)[] = [];
    poller.watch(socket, (error) => reports.push(error)).arm();
    await turn();
    expect(reports.map((error) => error?.message)).toEqual(['epoll_wait failed with errno 9.']);
    expect(poller.active).toBe(false);
    await poller.stopped();
    expect(sys.openFds()).toEqual(before);
  });
});
