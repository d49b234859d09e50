/** The one line the server prints on stdout once it serves. */
export interface ReadyLine {
  readonly ready: true;
  readonly pid: number;
  readonly port: number;
  readonly threads: number;
  /** What serves requests, e.g. "synthetic: GET cpu 10us, SCAN block 5ms, PUT cpu 10us". */
  readonly mode: string;
  /** The --policy as given: a standard name, linux-default, or a path. */
  readonly policy: string;
  /** The deployment's id, or null for linux-default. */
  readonly deployment: string | null;
  /** With --thread-policy: the policy as given, its deployment's id, and the threads of its agent (this process's main thread and its readiness thread). */
  readonly threadPolicy?: string;
  readonly threadDeployment?: string;
  readonly agentTids?: readonly number[];
}

/** The one line the server prints on stdout after a stop, before it exits 0. */
export interface StoppedLine {
  readonly stopped: true;
  /** Requests answered by worker k (= socket k = executor k). */
  readonly servedPerWorker: readonly number[];
  readonly byType: { readonly get: number; readonly scan: number; readonly put: number };
  /** Datagrams too short for a header or of an unknown type: not answered. */
  readonly ignored: number;
  /** token-qos: tokens the refiller put into buckets. */
  readonly tokensGranted?: { readonly latencySensitive: number; readonly bestEffort: number };
}
