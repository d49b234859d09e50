import type { AuditEntry, RequestAudit } from '@syrup/runtime';

/** The part of a pino logger the audit log writes through. */
export interface AuditLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface AuditLogLimits {
  /** Audit lines written one by one per window; requests beyond are counted and summarised. */
  readonly maxLinesPerWindow: number;
  readonly windowMs: number;
}

/** 200 lines a second: every request of normal use, while a flood costs the log two lines a second. */
export const DEFAULT_AUDIT_LOG_LIMITS: AuditLogLimits = { maxLinesPerWindow: 200, windowMs: 1000 };

/** Distinct uids and ops a summary names; any more are added up under `other`. */
const MAX_SUMMARY_KEYS = 32;

/**
 * syrupd's audit trail: one `request` line per answered request (uid, pid, op, hook, target,
 * deployment, outcome, duration) in its pino log. Invariant: at most `maxLinesPerWindow`
 * request lines per window, whatever the request rate. Past that, requests are counted (by
 * uid and by op and outcome) and each window that dropped any ends with one `requests not
 * logged one by one` summary line, so a flood is visible in the log without the log (a
 * synchronous write to stdout) becoming what the daemon spends its time on.
 */
export class BoundedAuditLog implements RequestAudit {
  readonly #logger: AuditLogger;
  readonly #limits: AuditLogLimits;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #windowStart: number;
  #written = 0;
  #unlogged = 0;
  #byUid = new Map<string, number>();
  #byOp = new Map<string, number>();

  constructor(logger: AuditLogger, limits: AuditLogLimits = DEFAULT_AUDIT_LOG_LIMITS, now: () => number = Date.now) {
    if (!(limits.maxLinesPerWindow >= 0) || !(limits.windowMs > 0)) throw new RangeError('audit log limits need maxLinesPerWindow >= 0 and windowMs > 0');
    this.#logger = logger;
    this.#limits = limits;
    this.#now = now;
    this.#windowStart = now();
    // A flood that stops still gets its summary, one window later; the timer never keeps the daemon alive.
    this.#timer = setInterval(() => this.#roll(this.#now()), limits.windowMs);
    this.#timer.unref();
  }

  record(entry: AuditEntry): void {
    this.#roll(this.#now());
    if (this.#written < this.#limits.maxLinesPerWindow) {
      this.#written++;
      this.#logger.info({ audit: true, ...entry }, 'request');
      return;
    }
    this.#unlogged++;
    count(this.#byUid, String(entry.uid));
    count(this.#byOp, `${entry.op} ${entry.outcome}`);
  }

  /** Writes the pending summary, if any, and stops the window timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#summarise(this.#now());
  }

  #roll(now: number): void {
    if (now - this.#windowStart < this.#limits.windowMs) return;
    this.#summarise(now);
    this.#windowStart = now;
    this.#written = 0;
  }

  #summarise(now: number): void {
    if (this.#unlogged === 0) return;
    this.#logger.warn(
      { audit: true, unlogged: this.#unlogged, sinceMs: now - this.#windowStart, byUid: Object.fromEntries(this.#byUid), byOpOutcome: Object.fromEntries(this.#byOp) },
      'requests not logged one by one',
    );
    this.#unlogged = 0;
    this.#byUid = new Map();
    this.#byOp = new Map();
  }
}

function count(counts: Map<string, number>, key: string): void {
  const slot = counts.has(key) || counts.size < MAX_SUMMARY_KEYS ? key : 'other';
  counts.set(slot, (counts.get(slot) ?? 0) + 1);
}
