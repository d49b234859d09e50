import {
  OwnershipError,
  claimRefusal,
  claimsConflict,
  parseTarget,
  type Authorization,
  type Backend,
  type CallerCredentials,
  type DeployTarget,
  type HookSpec,
  type InputKind,
  type TargetClaim,
} from '@syrup/core';

/** What the runtime asks about one deploy request. */
export interface OwnershipRequest {
  /** The spec of the hook asked for, as the registry returned it (its schema checks the target). */
  readonly hook: HookSpec;
  readonly target: DeployTarget;
  readonly input: InputKind;
  readonly caller: CallerCredentials;
}

/** A claim a live deployment holds, and whose it is. */
export interface HeldClaim {
  readonly claim: TargetClaim;
  readonly owner: number;
}

/**
 * The one place that decides whether a caller may deploy on a target (docs/architecture.md,
 * "syrupd": a tenant deploys only on targets it owns, and a refusal names the reason). It
 * knows no hook and no backend field; in order:
 * 1. the target is checked against the hook's schema (a TargetError names the field);
 * 2. the backend says what the target claims, and a claim another tenant's live deployment
 *    holds is refused as TARGET_TAKEN with the claim's own sentence, before any proof, so the
 *    refusal names the other tenant even when the caller could prove ownership too;
 * 3. root (uid 0, and the embedded runtime) may deploy anywhere; anyone else must pass the
 *    backend's `authorize`, which may fill in the target (a port's owner process) and whose
 *    claims are checked again. A backend without `authorize` serves only root.
 * The claims of the granted target are recorded for root too, so tenants cannot take what
 * root holds.
 */
export class TargetOwnership {
  async authorize(request: OwnershipRequest, backend: Backend, held: Iterable<HeldClaim>): Promise<Authorization> {
    const { hook, input, caller } = request;
    const target = parseTarget(hook, request.target);
    const others = [...held].filter((h) => h.owner !== caller.uid);
    const claims = backend.claims?.({ hook, target, input }) ?? [];
    if (caller.uid !== 0) refuseTaken(claims, others, caller.uid);
    if (caller.uid === 0) return { target, claims };
    if (backend.authorize === undefined) {
      throw new OwnershipError('TARGET_UNKNOWN', `the runtime cannot tell who owns targets of hook '${hook.id}', so only root may deploy there.`);
    }
    const granted = await backend.authorize({ hook, target, input, caller });
    refuseTaken(granted.claims, others, caller.uid);
    return granted;
  }
}

function refuseTaken(wanted: readonly TargetClaim[], others: readonly HeldClaim[], caller: number): void {
  for (const claim of wanted) {
    const holder = others.find((h) => claimsConflict(h.claim, claim));
    if (holder !== undefined) throw new OwnershipError('TARGET_TAKEN', claimRefusal(claim, holder.owner, caller));
  }
}
