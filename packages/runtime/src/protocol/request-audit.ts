/**
 * One request the protocol server answered, or one connection it refused before any request:
 * who asked (SO_PEERCRED), what, at which hook and target, how it ended and how long it took.
 * Audit entries are facts for the operator's log; they never carry policy source or map values.
 */
export interface AuditEntry {
  readonly uid: number;
  readonly pid: number;
  /** The request's op (`deploy`, `map.set`...), `connect` for a connection refused at accept, `invalid` for a line that is no request. */
  readonly op: string;
  readonly hook?: string;
  /** The deploy target's fields (its `extra` left out) or the deployment the request names. */
  readonly target?: Readonly<Record<string, unknown>>;
  readonly deployment?: string;
  /** `ok`, or the refusal's code (LIMIT_CONNECTIONS, NOT_OWNER...). */
  readonly outcome: string;
  readonly durationMs: number;
}

/**
 * Where the protocol server reports each request (syrupd logs them, bounded: see its
 * BoundedAuditLog). Invariant: `record` returns at once and never throws into the server; a
 * sink that cannot keep up drops and counts, it never makes requests wait.
 */
export interface RequestAudit {
  record(entry: AuditEntry): void;
}

export const RequestAudit: unique symbol = Symbol.for('@syrup/runtime.RequestAudit');
