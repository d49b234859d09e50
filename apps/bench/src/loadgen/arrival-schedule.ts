import { seededRandom } from './random.js';
import { pickType, type RequestMix } from './request-mix.js';

/** One user's open-loop stream: Poisson arrivals at `rate` requests/s over its own flows. */
export interface UserStream {
  readonly user: number;
  readonly rate: number;
}

export interface ScheduleOptions {
  readonly streams: readonly UserStream[];
  /** Flows (sockets) per user. */
  readonly flowsPerUser: number;
  readonly mix: RequestMix;
  readonly keys: number;
  /** Seconds sent but not measured, before the measured window. */
  readonly warmupS: number;
  /** Length of the measured window in seconds. */
  readonly durationS: number;
  /** At most this many measured requests (the window ends early when they run out). */
  readonly maxCount?: number;
  readonly seed: number;
}

/**
 * Every request of a run, decided before the first is sent, sorted by send time: the hot loop
 * then only reads typed arrays (no allocation, no random numbers, no decisions while timing).
 */
export interface ArrivalSchedule {
  readonly length: number;
  /**
   * Scheduled send time, microseconds from the start of the run (latency is measured from it).
   * Integers keep the hot loop's clock arithmetic in small integers, which V8 never boxes.
   */
  readonly timeUs: Int32Array;
  readonly type: Uint8Array;
  readonly user: Uint32Array;
  /** Global flow index: user stream s owns flows s*flowsPerUser .. (s+1)*flowsPerUser-1. */
  readonly flow: Uint16Array;
  readonly key: Uint32Array;
  /** Index of the first measured request (the ones before it are warm-up). */
  readonly measuredFrom: number;
  /** Length of the measured window in seconds (shorter than the duration when the count bound ends it). */
  readonly measuredWindowS: number;
  readonly flows: number;
}

/** Exponential inter-arrival draws per stream, merged by time, truncated at the count bound. */
export function buildArrivalSchedule(options: ScheduleOptions): ArrivalSchedule {
  const { streams, flowsPerUser, mix, keys, warmupS, durationS } = options;
  if (streams.length === 0) throw new RangeError('a schedule needs at least one user stream');
  if (warmupS + durationS > 2000) throw new RangeError('a run lasts at most 2000 s (times are int32 microseconds)');
  if (!(keys >= 1 && keys <= 2 ** 32)) throw new RangeError(`--keys must be 1..2^32, got ${keys}`);
  const endNs = (warmupS + durationS) * 1e9;
  const warmupNs = warmupS * 1e9;
  const random = seededRandom(options.seed);
  const times: number[] = [];
  const owners: number[] = [];
  streams.forEach((stream, s) => {
    if (!(stream.rate > 0)) throw new RangeError(`user ${stream.user} needs a positive rate, got ${stream.rate}`);
    const meanGapNs = 1e9 / stream.rate;
    // 1 - random() is in (0, 1], so the logarithm is finite.
    for (let t = -Math.log(1 - random()) * meanGapNs; t < endNs; t += -Math.log(1 - random()) * meanGapNs) {
      times.push(t);
      owners.push(s);
    }
  });
  const order = Array.from(times.keys()).sort((a, b) => times[a]! - times[b]!);
  let measuredFrom = order.findIndex((i) => times[i]! >= warmupNs);
  if (measuredFrom < 0) measuredFrom = order.length;
  let length = order.length;
  let measuredWindowS = durationS;
  if (options.maxCount !== undefined && length - measuredFrom > options.maxCount) {
    length = measuredFrom + options.maxCount;
    // The window ends where the next request would have been sent.
    measuredWindowS = (times[order[length]!]! - warmupNs) / 1e9;
  }
  const schedule: ArrivalSchedule = {
    length,
    timeUs: new Int32Array(length),
    type: new Uint8Array(length),
    user: new Uint32Array(length),
    flow: new Uint16Array(length),
    key: new Uint32Array(length),
    measuredFrom,
    measuredWindowS,
    flows: streams.length * flowsPerUser,
  };
  for (let i = 0; i < length; i++) {
    const index = order[i]!;
    const s = owners[index]!;
    schedule.timeUs[i] = Math.round(times[index]! / 1000);
    schedule.type[i] = pickType(mix, random());
    schedule.user[i] = streams[s]!.user;
    schedule.flow[i] = s * flowsPerUser + Math.floor(random() * flowsPerUser);
    schedule.key[i] = Math.floor(random() * keys);
  }
  return schedule;
}
