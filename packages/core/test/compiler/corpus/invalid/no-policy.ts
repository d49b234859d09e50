// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
export function schedule(pkt: { hash: number }): number {
  return pkt.hash % 2;
}
