import { afterEach, expect, it } from 'vitest';
import { ReadinessPoller } from '../../../src/readiness/readiness-poller.js';
import { RingBuffer } from '../../../src/maps/system/ring-buffer.js';
import type { SystemMapError } from '../../../src/maps/system/system-map-error.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { frame, loadXdp, ringbufFirstBytes } from '../../support/xdp-programs.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function packet(i: number): Uint8Array {
  const bytes = frame([], 64);
  new DataView(bytes.buffer).setUint32(0, i, true);
  new DataView(bytes.buffer).setUint32(4, ~i >>> 0, true);
  return bytes;
}

function expectedRecord(i: number): string {
  return Buffer.from(packet(i).subarray(0, 8)).toString('hex');
}

describeKernel('ring buffers', { needs: ['bpf'] }, () => {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const item of open.splice(0)) item.close();
  });

  it('receives exactly the records a program wrote, in order, across many wrap-arounds', async () => {
    const ring = RingBuffer.create({ size: 4096, name: 'events' });
    open.push(ring);
    const program = loadXdp('to_ring', ringbufFirstBytes(), { events: ring.kernelMap });
    open.push(program);
    const received: string[] = [];
    const subscription = ring.subscribe((data) => received.push(Buffer.from(data).toString('hex')));
    open.push(subscription);
    // 16-byte records in a 4 KiB ring: 256 fit, so the producer must wait for the consumer
    // and the ring wraps 40 times; records dropped for lack of space would go missing.
    const n = 10_000;
    const runner = program.testRunner();
    let sent = 0;
    while (sent < n) {
      const batch = Math.min(200, n - sent);
      for (let i = 0; i < batch; i++) runner.run(packet(sent + i));
      sent += batch;
      // Let the subscription drain before the ring is full.
      await ring.wait().then(() => sleep(0));
      while (received.length < sent && ring.available()) await sleep(1);
    }
    for (let waited = 0; received.length < n && waited < 2000; waited += 10) await sleep(10);
    expect(received).toHaveLength(n);
    expect(received[0]).toBe(expectedRecord(0));
    expect(received[n - 1]).toBe(expectedRecord(n - 1));
    expect(received.every((record, i) => record === expectedRecord(i))).toBe(true);
    expect(ring.available()).toBe(false);
  }, 60_000);

  it('drains synchronously without a subscription, and wait() resolves when a record comes', async () => {
    const ring = RingBuffer.create({ size: 8192, name: 'events' });
    open.push(ring);
    const program = loadXdp('to_ring', ringbufFirstBytes(), { events: ring.kernelMap });
    open.push(program);
    expect(ring.drain(() => undefined)).toBe(0);
    const waiting = ring.wait();
    setTimeout(() => program.testRun(packet(7)), 20);
    await waiting;
    const seen: string[] = [];
    expect(ring.drain((data) => seen.push(Buffer.from(data).toString('hex')))).toBe(1);
    expect(seen).toEqual([expectedRecord(7)]);
    for (let i = 0; i < 5; i++) program.testRun(packet(i));
    expect(ring.drain(() => undefined, 2)).toBe(2);
    expect(ring.drain(() => undefined)).toBe(3);
  });

  it('waits without blocking the event loop and without burning CPU', async () => {
    const ring = RingBuffer.create({ size: 4096, name: 'idle' });
    open.push(ring);
    const program = loadXdp('to_ring', ringbufFirstBytes(), { events: ring.kernelMap });
    open.push(program);
    let records = 0;
    const subscription = ring.subscribe(() => records++);
    open.push(subscription);
    // Let the waiting thread start before measuring.
    await sleep(300);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await sleep(1000);
    const cpu = process.cpuUsage(cpuBefore);
    const wall = performance.now() - wallBefore;
    clearInterval(timer);
    // The event loop kept ticking (about 100 ticks of 10 ms)...
    expect(ticks).toBeGreaterThan(50);
    // ...and the whole process, waiting thread included, used almost no CPU: a spinning waiter would use ~1 s.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(wall * 0.1);
    program.testRun(packet(1));
    for (let waited = 0; records === 0 && waited < 1000; waited += 5) await sleep(5);
    expect(records).toBe(1);
  }, 30_000);

  it('rejects pending waits on close, refuses a second subscriber, and stops its waiting thread when idle', async () => {
    const sys = nativeSyscalls();
    const ring = RingBuffer.create({ size: 4096 });
    const subscription = ring.subscribe(() => undefined);
    expect(() => ring.subscribe(() => undefined)).toThrow(/already has a subscriber/);
    subscription.close();
    const waiting = ring.wait();
    expect(ReadinessPoller.of(sys).active).toBe(true);
    ring.close();
    ring.close();
    await expect(waiting).rejects.toMatchObject({ code: 'SYSTEM_MAP_CLOSED' });
    expect(ReadinessPoller.of(sys).active).toBe(false);
    expect(() => ring.available()).toThrow(expect.objectContaining({ code: 'SYSTEM_MAP_CLOSED' }) as SystemMapError);
  });

  it('refuses sizes that are not a power of two of whole pages', () => {
    expect(() => RingBuffer.create({ size: 3000 })).toThrow(expect.objectContaining({ code: 'SYSTEM_MAP_SPEC_INVALID' }) as SystemMapError);
    expect(() => RingBuffer.create({ size: 4096 * 3 })).toThrow(expect.objectContaining({ code: 'SYSTEM_MAP_SPEC_INVALID' }) as SystemMapError);
  });
});
