/** One tenant's limits; `Infinity` means unlimited. */
export interface TenantLimits {
  /** Deployments the tenant may have at once. */
  readonly maxDeployments: number;
  /** Bytes of data-map memory over all its deployments: maxEntries x (key + value size), per-CPU values once per CPU. */
  readonly maxMapBytes: number;
  /** Bytes of one request line on the wire (policy text included). */
  readonly maxRequestBytes: number;
  /** Milliseconds the policy front end may take to compile one policy, in its worker. */
  readonly compileTimeoutMs: number;
  /**
   * Compiles the tenant may have waiting or running at once, over all its connections. The
   * default, 16, admits a whole deployment quota sent at once; more only queues work the
   * tenant could not deploy, ahead of nobody (tenants are served round robin).
   */
  readonly maxQueuedCompiles: number;
}

/**
 * The service's limits, under the {@link RuntimeLimits} token: defaults for every non-root
 * tenant, and overrides by uid. Root (uid 0) has no deployment, map-memory or queued-compile
 * limit unless `tenants[0]` sets one (the embedded runtime acts as root and may compile many
 * policies at once; its compiles still take turns with every tenant's); its request size and
 * compile time are limited like anyone's, since its requests carry source text all the same.
 */
export interface RuntimeLimits extends Partial<TenantLimits> {
  readonly tenants?: Readonly<Record<number, Partial<TenantLimits>>>;
}

export const RuntimeLimits: unique symbol = Symbol.for('@syrup/runtime.RuntimeLimits');

/** What a non-root tenant gets unless the daemon is told otherwise. */
export const DEFAULT_TENANT_LIMITS: TenantLimits = Object.freeze({
  maxDeployments: 16,
  maxMapBytes: 64 * 1024 * 1024,
  maxRequestBytes: 1 << 20,
  compileTimeoutMs: 2000,
  maxQueuedCompiles: 16,
});

/** The limits that apply to `uid`: its own overrides, then the configured defaults, then the built-in ones. */
export function tenantLimits(limits: RuntimeLimits | undefined, uid: number): TenantLimits {
  const { tenants, ...configured } = limits ?? {};
  const base: TenantLimits = { ...DEFAULT_TENANT_LIMITS, ...definedOnly(configured) };
  const root: Partial<TenantLimits> = uid === 0 ? { maxDeployments: Infinity, maxMapBytes: Infinity, maxQueuedCompiles: Infinity } : {};
  return { ...base, ...root, ...definedOnly(tenants?.[uid] ?? {}) };
}

function definedOnly(limits: Partial<TenantLimits>): Partial<TenantLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as Partial<TenantLimits>;
}
