import { RequestType } from '../wire/request-header.js';

/** Fractions of GET, SCAN and PUT requests, summing to 1. */
export interface RequestMix {
  readonly get: number;
  readonly scan: number;
  readonly put: number;
}

export const REQUEST_TYPE_NAMES = ['GET', 'SCAN', 'PUT'] as const;
export type RequestTypeName = (typeof REQUEST_TYPE_NAMES)[number];

/** Parses `get=0.995,scan=0.005`; types left out get 0 and the fractions must sum to 1. */
export function parseMix(text: string): RequestMix {
  const mix = { get: 0, scan: 0, put: 0 };
  for (const part of text.split(',')) {
    const [name, value] = part.split('=');
    const key = name?.trim().toLowerCase();
    const fraction = Number(value);
    if ((key !== 'get' && key !== 'scan' && key !== 'put') || value === undefined || !Number.isFinite(fraction) || fraction < 0) {
      throw new RangeError(`--mix takes type=fraction pairs such as get=0.995,scan=0.005, not "${text}"`);
    }
    mix[key] = fraction;
  }
  const total = mix.get + mix.scan + mix.put;
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`--mix fractions must sum to 1, "${text}" sums to ${total}`);
  return mix;
}

/** The request type a uniform draw `u` in [0, 1) picks under `mix`. */
export function pickType(mix: RequestMix, u: number): RequestType {
  if (u < mix.get) return RequestType.GET;
  if (u < mix.get + mix.scan) return RequestType.SCAN;
  return mix.put > 0 ? RequestType.PUT : mix.scan > 0 ? RequestType.SCAN : RequestType.GET;
}
