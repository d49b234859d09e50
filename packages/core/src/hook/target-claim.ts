/**
 * A resource a deployment's target holds while it runs: data, so the runtime can enforce
 * claims between tenants without knowing what they mean. Kinds are open strings: the
 * standard ones are `udp-port` (a port routed on an interface, keyed by its network
 * namespace), `xdp-queue` (an interface queue's AF_XDP executors), `process` and `cpu`;
 * a third-party backend adds its own.
 *
 * Invariant: two claims with the same `kind` and `key` name the same resource, whichever
 * backend made them; a backend therefore keys resources by identity (a namespace's
 * device:inode, not its name).
 */
export interface TargetClaim {
  readonly kind: string;
  readonly key: string;
  /**
   * An exclusive claim belongs to one tenant: another tenant's claim on the same resource
   * (exclusive or not) is refused. Non-exclusive claims only record use.
   */
  readonly exclusive: boolean;
  /**
   * The refusal a tenant sees when another tenant holds the resource: one sentence where
   * `{holder}` stands for the holder (`uid 1001`) and `{caller}` for the one refused.
   */
  readonly taken: string;
}

/** True when `held` (another tenant's) and `wanted` cannot both be granted. */
export function claimsConflict(held: TargetClaim, wanted: TargetClaim): boolean {
  return held.kind === wanted.kind && held.key === wanted.key && (held.exclusive || wanted.exclusive);
}

/** The refusal sentence of `claim` for `caller` when `holder` has it. */
export function claimRefusal(claim: TargetClaim, holder: number, caller: number): string {
  return claim.taken.replaceAll('{holder}', `uid ${holder}`).replaceAll('{caller}', `uid ${caller}`);
}
