import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenRefiller, type TokenRefillerOptions } from '../src/index.js';
import { ARRAY_1024, memoryMap, overriding, withoutAtomics } from './support/maps.js';

const LS = 7;
const BE = [3, 9];

function setup(options: Partial<TokenRefillerOptions> = {}) {
  const { store, map } = memoryMap(ARRAY_1024, 'tokens');
  const refiller = new TokenRefiller(map, { ratePerSec: 1000, latencySensitiveUser: LS, bestEffortUsers: BE, burst: 10, ...options });
  const buckets = async (): Promise<{ ls: bigint; be: bigint[] }> => ({
    ls: await map.get(LS),
    be: await Promise.all(BE.map((u) => map.get(u))),
  });
  return { store, map, refiller, buckets };
}

describe('TokenRefiller', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('fills the latency-sensitive bucket first while it has room', async () => {
    const { refiller, buckets } = setup();
    await refiller.refillOnce(4); // 1000/s for 4 ms: 4 tokens
    expect(await buckets()).toEqual({ ls: 4n, be: [0n, 0n] });
    await refiller.refillOnce(6);
    expect(await buckets()).toEqual({ ls: 10n, be: [0n, 0n] });
    expect(refiller.granted).toEqual({ latencySensitive: 10n, bestEffort: 0n });
  });

  it('gives what the full latency-sensitive bucket cannot hold to the best-effort users, split evenly', async () => {
    const { map, refiller, buckets } = setup();
    await map.set(LS, 8n);
    await refiller.refillOnce(6); // 6 tokens: 2 fill LS, 4 spare
    expect(await buckets()).toEqual({ ls: 10n, be: [2n, 2n] });
    await refiller.refillOnce(4);
    expect(await buckets()).toEqual({ ls: 10n, be: [4n, 4n] });
    expect(refiller.granted).toEqual({ latencySensitive: 2n, bestEffort: 8n });
    // The LS user spends 3: the next tokens go to it before any best-effort user.
    await map.set(LS, 7n);
    await refiller.refillOnce(3);
    expect(await buckets()).toEqual({ ls: 10n, be: [4n, 4n] });
  });

  it('turns the odd token of a split over the best-effort users', async () => {
    const { map, refiller, buckets } = setup();
    await map.set(LS, 10n);
    await refiller.refillOnce(3);
    const first = await buckets();
    expect(first.be.reduce((a, b) => a + b)).toBe(3n);
    await refiller.refillOnce(3);
    expect((await buckets()).be).toEqual([3n, 3n]);
  });

  it('lets a best-effort bucket that fills up leave its share to the others (water-filling)', async () => {
    const { map, refiller, buckets } = setup();
    await map.set(LS, 10n);
    await map.set(BE[0] as number, 9n);
    await refiller.refillOnce(6);
    expect(await buckets()).toEqual({ ls: 10n, be: [10n, 5n] });
    expect(refiller.granted.bestEffort).toBe(6n);
  });

  it('never fills a bucket beyond burst, and discards (and does not count) tokens nobody can hold', async () => {
    const { refiller, buckets } = setup();
    for (let i = 0; i < 20; i++) await refiller.refillOnce(7);
    expect(await buckets()).toEqual({ ls: 10n, be: [10n, 10n] });
    expect(refiller.granted).toEqual({ latencySensitive: 10n, bestEffort: 20n });
    // A long stall grants no more than the buckets' room either.
    await refiller.refillOnce(3_600_000);
    expect(await buckets()).toEqual({ ls: 10n, be: [10n, 10n] });
  });

  it('caps best-effort buckets at bestEffortBurst: a step after a hold-up refills the latency-sensitive bucket fully but lets best-effort in by at most its smaller burst', async () => {
    const { refiller, buckets } = setup({ burst: 10, bestEffortBurst: 3 });
    expect(refiller.bestEffortBurst).toBe(3);
    // 50 ms held up: 50 tokens owed; LS takes 10, each BE bucket 3, the other 34 are discarded.
    await refiller.refillOnce(50);
    expect(await buckets()).toEqual({ ls: 10n, be: [3n, 3n] });
    expect(refiller.granted).toEqual({ latencySensitive: 10n, bestEffort: 6n });
    // Without the option, best-effort buckets share the burst.
    const same = setup({ burst: 10 });
    expect(same.refiller.bestEffortBurst).toBe(10);
    await same.refiller.refillOnce(50);
    expect(await same.buckets()).toEqual({ ls: 10n, be: [10n, 10n] });
  });

  it('carries fractions of a token from step to step', async () => {
    const slowRate = setup({ ratePerSec: 100 });
    for (let i = 0; i < 9; i++) await slowRate.refiller.refillOnce(1);
    expect((await slowRate.buckets()).ls).toBe(0n);
    await slowRate.refiller.refillOnce(1); // the tenth millisecond completes a token
    expect((await slowRate.buckets()).ls).toBe(1n);

    // 0.1 ms steps at 10000/s are one token each, exactly: ten binary-float tenths would sum to 0.999...
    const tenths = setup({ ratePerSec: 10_000, burst: 100 });
    for (let i = 0; i < 100; i++) await tenths.refiller.refillOnce(0.1);
    expect((await tenths.buckets()).ls).toBe(100n);

    const halves = setup({ ratePerSec: 1500, burst: 100 });
    const levels: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      await halves.refiller.refillOnce(1);
      levels.push((await halves.buckets()).ls);
    }
    expect(levels).toEqual([1n, 3n, 4n, 6n]);
  });

  it('keeps a decrement the kernel makes between its read and its write (compare-exchange, not set)', async () => {
    const { store, map } = memoryMap(ARRAY_1024, 'tokens');
    await map.set(LS, 5n);
    let raced = false;
    const racing = overriding(map, {
      async compareExchange(key, expected, desired) {
        if (!raced) {
          raced = true;
          // The policy admits a request right now: one token gone.
          store.compareExchange(LS, 5n, 4n);
        }
        return map.compareExchange(key, expected, desired);
      },
    });
    const refiller = new TokenRefiller(racing, { ratePerSec: 1000, latencySensitiveUser: LS, bestEffortUsers: [], burst: 10 });
    await refiller.refillOnce(5);
    expect(raced).toBe(true);
    expect(await map.get(LS)).toBe(9n); // 5 - 1 + 5; a get-then-set would leave 10
    expect(refiller.granted.latencySensitive).toBe(5n);
  });

  it('refuses a map that cannot be atomic rather than racing the kernel', async () => {
    const { map } = memoryMap(ARRAY_1024, 'tokens');
    const refiller = new TokenRefiller(withoutAtomics(map), { ratePerSec: 1000, latencySensitiveUser: LS, bestEffortUsers: BE });
    await expect(refiller.refillOnce(5)).rejects.toMatchObject({ code: 'MAP_NOT_ATOMIC' });
    expect(await map.get(LS)).toBe(0n);
  });

  it('defaults burst to 10 ms of the rate, at least 1 token, and validates its options', () => {
    const { map } = memoryMap(ARRAY_1024, 'tokens');
    const base = { ratePerSec: 2000, latencySensitiveUser: 0, bestEffortUsers: [1] };
    expect(new TokenRefiller(map, base).burst).toBe(20);
    expect(new TokenRefiller(map, { ...base, ratePerSec: 50 }).burst).toBe(1);
    expect(new TokenRefiller(map, base).intervalMs).toBe(1);
    const invalid: Partial<TokenRefillerOptions>[] = [
      { ratePerSec: 0 },
      { ratePerSec: Number.POSITIVE_INFINITY },
      { burst: 0 },
      { burst: 1.5 },
      { bestEffortBurst: 0 },
      { bestEffortBurst: 2.5 },
      { intervalMs: 0 },
      { latencySensitiveUser: 1024 },
      { bestEffortUsers: [1, 1] },
      { bestEffortUsers: [0] },
      { bestEffortUsers: [-1] },
    ];
    for (const options of invalid) {
      expect(() => new TokenRefiller(map, { ...base, ...options }), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'COMPANION_OPTIONS_INVALID' }),
      );
    }
    const { map: perCpu } = memoryMap({ kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 4 }, 'tokens');
    expect(() => new TokenRefiller(perCpu, base)).toThrow(expect.objectContaining({ code: 'COMPANION_OPTIONS_INVALID' }));
  });

  it('refills on its timer with the time that really passed, not the nominal interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { refiller, buckets } = setup({ ratePerSec: 1000, burst: 100 });
    refiller.start();
    expect(refiller.running).toBe(true);
    now += 1;
    await vi.advanceTimersByTimeAsync(1);
    expect((await buckets()).ls).toBe(1n);
    // The event loop stalled: the next tick comes after 7 ms, and grants 7 ms worth.
    now += 7;
    await vi.advanceTimersByTimeAsync(1);
    expect((await buckets()).ls).toBe(8n);
    refiller.stop();
    expect(refiller.running).toBe(false);
    now += 50;
    await vi.advanceTimersByTimeAsync(50);
    expect((await buckets()).ls).toBe(8n);
    refiller.close();
  });

  it('stops its timer on a failing map and reports the error once', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { store, map } = memoryMap(ARRAY_1024, 'tokens');
    const errors: unknown[] = [];
    const refiller = new TokenRefiller(map, { ratePerSec: 1000, latencySensitiveUser: LS, bestEffortUsers: BE, onError: (e) => errors.push(e) });
    refiller.start();
    store.close(); // undeployed under the refiller
    for (let i = 0; i < 3; i++) {
      now += 1;
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'MAP_CLOSED' });
    expect(refiller.running).toBe(false);
    expect(refiller.lastError).toBe(errors[0]);
  });

  it('is closed for good after close() or dispose', async () => {
    const { refiller } = setup();
    refiller.start();
    refiller[Symbol.dispose]();
    expect(refiller.running).toBe(false);
    expect(() => refiller.start()).toThrow(expect.objectContaining({ code: 'COMPANION_CLOSED' }));
    await expect(refiller.refillOnce(1)).rejects.toMatchObject({ code: 'COMPANION_CLOSED' });
    refiller.close();
  });
});
