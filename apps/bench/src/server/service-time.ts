import { UsageError } from './usage-error.js';

/**
 * How long serving one request takes, and in what way:
 * - `cpu`: the worker thread busy-spins, so the time costs CPU (a store doing work);
 * - `block`: the thread sleeps without using CPU (a store waiting for I/O, or for cores this
 *   machine lacks).
 * `fixed` takes exactly `meanUs` each time; `exp` draws from an exponential with that mean.
 */
export interface ServiceTime {
  readonly kind: 'cpu' | 'block';
  readonly distribution: 'fixed' | 'exp';
  readonly meanUs: number;
}

/** No service time at all: the request is answered as soon as the store (if any) has. */
export const NO_SERVICE_TIME: ServiceTime = { kind: 'cpu', distribution: 'fixed', meanUs: 0 };

const UNIT_US: Readonly<Record<string, number>> = { ns: 0.001, us: 1, ms: 1000, s: 1_000_000 };
const SYNTAX = /^(cpu|block):(?:(exp):)?(\d+(?:\.\d+)?)(ns|us|ms|s)$/;
/** A minute per request is surely a typo, and a wait that long would outlive any stop request. */
const MAX_US = 60_000_000;

/**
 * Parses `cpu:10us`, `block:5ms`, `cpu:exp:10us`, `block:exp:200us` or `none`; `what` names the
 * option for the error sentence.
 */
export function parseServiceTime(text: string, what: string): ServiceTime {
  if (text === 'none') return NO_SERVICE_TIME;
  const match = SYNTAX.exec(text.trim());
  if (match === null) {
    throw new UsageError(`${what} '${text}' is not a service time: write cpu:<time> or block:<time>, optionally cpu:exp:<time> for an exponential mean, with a unit ns, us, ms or s (e.g. cpu:10us, block:exp:5ms), or none.`);
  }
  const [, kind, exp, amount, unit] = match as unknown as [string, 'cpu' | 'block', string | undefined, string, string];
  const meanUs = Number(amount) * (UNIT_US[unit] as number);
  if (meanUs > MAX_US) throw new UsageError(`${what} '${text}' is longer than the 60 s a request may take.`);
  return { kind, distribution: exp === undefined ? 'fixed' : 'exp', meanUs };
}

/** `cpu 10us`, `block exp 200us`, `none`: how the ready line names a service time. */
export function describeServiceTime(time: ServiceTime): string {
  if (time.meanUs === 0) return 'none';
  return `${time.kind}${time.distribution === 'exp' ? ' exp' : ''} ${formatMicroseconds(time.meanUs)}`;
}

/** Back to the flag syntax (for the process API). */
export function formatServiceTime(time: ServiceTime): string {
  if (time.meanUs === 0) return 'none';
  return `${time.kind}:${time.distribution === 'exp' ? 'exp:' : ''}${time.meanUs}us`;
}

function formatMicroseconds(us: number): string {
  if (us >= 1_000_000 && us % 1_000_000 === 0) return `${us / 1_000_000}s`;
  if (us >= 1000 && us % 1000 === 0) return `${us / 1000}ms`;
  if (us < 1) return `${Math.round(us * 1000)}ns`;
  return `${us}us`;
}
