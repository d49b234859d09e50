import type { DataMap } from '@syrup/maps';
import { CompanionError } from './companion-error.js';

export interface TokenRefillerOptions {
  /** Tokens granted per second in total (90% of the server's capacity, say); fractions carry over. */
  readonly ratePerSec: number;
  /** The user whose bucket is filled first (token-qos's LS_USER). */
  readonly latencySensitiveUser: number;
  /** The users who share what the latency-sensitive bucket cannot hold; may be empty. */
  readonly bestEffortUsers: readonly number[];
  /** Most tokens a bucket may hold; default 10 ms worth of `ratePerSec`, at least 1. */
  readonly burst?: number;
  /**
   * Most tokens a best-effort bucket may hold; default `burst`. A smaller one keeps the
   * best-effort users from being let in as a burst after the refiller was held up (a step
   * grants for all the time that passed), when the server is still catching up on the
   * latency-sensitive user's backlog; the latency-sensitive bucket keeps its larger `burst`,
   * which carries that user through the same hold-up.
   */
  readonly bestEffortBurst?: number;
  /** Refill period of `start()`, in milliseconds; default 1. */
  readonly intervalMs?: number;
  /**
   * Called when a timed refill fails (the map was closed by an undeploy, say); the refiller
   * has stopped by then. Without it the failure becomes a process warning.
   */
  readonly onError?: (error: unknown) => void;
}

/** Fractions of a token are carried in millionths, as an integer, so carries add up exactly. */
const MICRO = 1_000_000;
/** Compare-exchange attempts on one bucket in one step; only a bucket the kernel empties faster than a map round trip runs out. */
const MAX_ATTEMPTS = 64;

/**
 * The userspace half of the token-qos policy: it pours `ratePerSec` tokens a second into the
 * policy's `tokens` map (one bucket per user id), while the kernel takes one per admitted
 * request. Each step first tops up the latency-sensitive user's bucket to `burst`; the tokens
 * it cannot hold (its unused share) go to the best-effort users, split evenly, each bucket
 * capped at `bestEffortBurst` (by default `burst` too), and any left over after that are
 * discarded (a rate limit does not bank unused capacity beyond one burst).
 *
 * Every bucket change is a compare-exchange loop over the current value, so a decrement the
 * kernel makes between our read and our write is never overwritten. The map must therefore
 * support atomics from userspace (a kernel array map does: it is mmapable); one that refuses
 * fails the step with MAP_NOT_ATOMIC rather than racing the kernel.
 *
 * `start()` refills every `intervalMs` with the time that really passed (timers drift and
 * stall under load, so a nominal interval would under-grant); `refillOnce` is one step with a
 * given elapsed time, deterministic, for tests and for callers with their own clock. The
 * timer is unref'd: the refiller never keeps a process alive on its own.
 */
export class TokenRefiller implements Disposable {
  readonly ratePerSec: number;
  readonly burst: number;
  readonly bestEffortBurst: number;
  readonly intervalMs: number;
  readonly latencySensitiveUser: number;
  readonly bestEffortUsers: readonly number[];
  readonly #tokens: DataMap;
  readonly #burst: bigint;
  readonly #bestEffortBurst: bigint;
  readonly #onError: ((error: unknown) => void) | undefined;
  #owedMicro = 0;
  /** Which best-effort user gets the first odd token of a split; turns each step so odd tokens go round. */
  #rotation = 0;
  #grantedLs = 0n;
  #grantedBe = 0n;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #stepping = false;
  #closed = false;
  #lastError: unknown;

  constructor(tokens: DataMap, options: TokenRefillerOptions) {
    const invalid = (message: string): CompanionError => new CompanionError('COMPANION_OPTIONS_INVALID', message);
    if (tokens.spec.kind === 'percpu-array') throw invalid('the tokens map must hold one bucket per user, and a percpu-array holds one per CPU.');
    const { ratePerSec, latencySensitiveUser, bestEffortUsers } = options;
    if (typeof ratePerSec !== 'number' || !Number.isFinite(ratePerSec) || ratePerSec <= 0) {
      throw invalid(`ratePerSec must be a positive number of tokens per second, not ${String(ratePerSec)}.`);
    }
    const burst = options.burst ?? Math.max(1, Math.floor(ratePerSec / 100));
    if (!Number.isSafeInteger(burst) || burst < 1) throw invalid(`burst must be a positive integer number of tokens, not ${String(burst)}.`);
    const bestEffortBurst = options.bestEffortBurst ?? burst;
    if (!Number.isSafeInteger(bestEffortBurst) || bestEffortBurst < 1) {
      throw invalid(`bestEffortBurst must be a positive integer number of tokens, not ${String(bestEffortBurst)}.`);
    }
    const intervalMs = options.intervalMs ?? 1;
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw invalid(`intervalMs must be a positive number of milliseconds, not ${String(intervalMs)}.`);
    }
    const users = [latencySensitiveUser, ...bestEffortUsers];
    const limit = tokens.spec.kind === 'array' ? tokens.spec.maxEntries : 2 ** 32;
    for (const user of users) {
      if (!Number.isInteger(user) || user < 0 || user >= limit) {
        throw invalid(`user id ${String(user)} has no bucket: ids are integers from 0 to ${limit - 1} for this tokens map.`);
      }
    }
    if (new Set(users).size !== users.length) {
      throw invalid('every user id must appear once: the latency-sensitive user is not also best-effort, and no best-effort user is listed twice.');
    }
    this.#tokens = tokens;
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.#burst = BigInt(burst);
    this.bestEffortBurst = bestEffortBurst;
    this.#bestEffortBurst = BigInt(bestEffortBurst);
    this.intervalMs = intervalMs;
    this.latencySensitiveUser = latencySensitiveUser;
    this.bestEffortUsers = [...bestEffortUsers];
    this.#onError = options.onError;
  }

  /** Tokens put into buckets so far (those discarded because every bucket was full are not counted). */
  get granted(): { latencySensitive: bigint; bestEffort: bigint } {
    return { latencySensitive: this.#grantedLs, bestEffort: this.#grantedBe };
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Why the timer stopped on its own, if it did. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Refills every `intervalMs` until `stop()`; starting a running refiller does nothing. */
  start(): void {
    this.#checkOpen();
    if (this.#timer !== undefined) return;
    this.#lastError = undefined;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; the buckets keep their tokens, and `start()` may resume. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.stop();
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** One refill step for `elapsedMs` milliseconds of `ratePerSec`. */
  async refillOnce(elapsedMs: number): Promise<void> {
    this.#checkOpen();
    if (typeof elapsedMs !== 'number' || !Number.isFinite(elapsedMs) || elapsedMs < 0) {
      throw new CompanionError('COMPANION_OPTIONS_INVALID', `elapsedMs must be a finite number of milliseconds, at least 0, not ${String(elapsedMs)}.`);
    }
    // Owed tokens beyond what every bucket can hold would be discarded anyway; the cap keeps a long stall from overflowing the count.
    const cap = (this.burst + this.bestEffortUsers.length * this.bestEffortBurst) * MICRO;
    this.#owedMicro = Math.min(this.#owedMicro + Math.round(this.ratePerSec * elapsedMs * 1000), cap + MICRO - 1);
    const whole = Math.floor(this.#owedMicro / MICRO);
    this.#owedMicro -= whole * MICRO;
    if (whole === 0) return;

    let spare = BigInt(whole);
    const toLs = await this.#addUpTo(this.latencySensitiveUser, spare, this.#burst);
    this.#grantedLs += toLs;
    spare -= toLs;
    if (spare === 0n || this.bestEffortUsers.length === 0) return;

    const shares = await this.#split(spare);
    for (const [i, user] of this.bestEffortUsers.entries()) {
      const share = shares[i] as bigint;
      if (share > 0n) this.#grantedBe += await this.#addUpTo(user, share, this.#bestEffortBurst);
    }
  }

  #tick(): void {
    // A step still waiting on the map is not overlapped; the next tick's elapsed time covers the skipped one.
    if (this.#stepping) return;
    const now = performance.now();
    const elapsed = now - this.#last;
    this.#last = now;
    this.#stepping = true;
    this.refillOnce(elapsed)
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#stepping = false;
      });
  }

  #fail(error: unknown): void {
    this.stop();
    if (this.#closed) return;
    this.#lastError = error;
    if (this.#onError !== undefined) {
      this.#onError(error);
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    process.emitWarning(`the token refiller stopped: ${reason}`, { code: 'SYRUP_TOKEN_REFILLER_STOPPED' });
  }

  /**
   * Splits `spare` tokens evenly over the best-effort buckets by water-filling: a bucket that
   * fills up drops out and the rest share what it could not take.
   */
  async #split(spare: bigint): Promise<bigint[]> {
    const users = this.bestEffortUsers;
    const room = await Promise.all(users.map(async (user) => roomIn(await this.#tokens.get(user), this.#bestEffortBurst)));
    const shares = users.map(() => 0n);
    const start = this.#rotation;
    this.#rotation = (this.#rotation + 1) % users.length;
    let open = users.map((_, k) => (start + k) % users.length).filter((i) => (room[i] as bigint) > 0n);
    while (spare > 0n && open.length > 0) {
      const base = spare / BigInt(open.length);
      let odd = spare % BigInt(open.length);
      for (const i of open) {
        const want = base + (odd > 0n ? 1n : 0n);
        if (odd > 0n) odd -= 1n;
        const left = room[i] as bigint;
        const give = want < left ? want : left;
        shares[i] = (shares[i] as bigint) + give;
        room[i] = left - give;
        spare -= give;
      }
      open = open.filter((i) => (room[i] as bigint) > 0n);
    }
    return shares;
  }

  /**
   * Adds up to `amount` tokens to `user`'s bucket without passing `cap`, and answers how many
   * went in. The compare-exchange fails when the kernel took a token since the read; the loop
   * then reads again, so that decrement stands.
   */
  async #addUpTo(user: number, amount: bigint, cap: bigint): Promise<bigint> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const level = await this.#tokens.get(user);
      const room = roomIn(level, cap);
      const add = amount < room ? amount : room;
      if (add === 0n) return 0n;
      if ((await this.#tokens.compareExchange(user, level, level + add)) === level) return add;
    }
    return 0n;
  }

  #checkOpen(): void {
    if (this.#closed) throw new CompanionError('COMPANION_CLOSED', 'the token refiller is closed.');
  }
}

function roomIn(level: bigint, cap: bigint): bigint {
  return level >= cap ? 0n : cap - level;
}
