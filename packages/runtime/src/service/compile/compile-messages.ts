import type { PolicyIr, PolicySource } from '@syrup/core';

/** Messages between PolicyCompiler and its worker (structured clone: plain data and bigints). */
export interface CompileJob {
  readonly id: number;
  readonly source: PolicySource;
  readonly params?: Readonly<Record<string, number | bigint>>;
  /** The nice value the worker thread compiles at (compile-worker-priority.ts); absent keeps the thread's. */
  readonly nice?: number;
}

/** An error crossing the thread boundary, rebuilt on the main thread with the same code and sentence. */
export type WorkerFailure =
  | { readonly kind: 'compile'; readonly code: string; readonly message: string; readonly fileName: string; readonly line: number; readonly column: number; readonly reason: string }
  | { readonly kind: 'syrup'; readonly code: string; readonly message: string }
  | { readonly kind: 'other'; readonly message: string };

/** A compiled policy crosses back as its IR (whose `manifest` has the params applied): structured clone carries the bigints. */
export type CompileReply =
  | { readonly id: number; readonly ok: true; readonly ir: PolicyIr }
  | { readonly id: number; readonly ok: false; readonly error: WorkerFailure };

/** The worker's first message, once core is loaded: the compile timer starts only after it. */
export interface WorkerReady {
  readonly ready: true;
}
