/**
 * Test-only fault injection for the crash-consistency tests: each name is one step boundary
 * of a deploy, replace or undeploy (a syscall or a state-file write), and `crashPoint(name)`
 * SIGKILLs this process there when the environment variable {@link CRASH_POINT_ENV} names it.
 * Unset (every real daemon), a call is one environment lookup and does nothing. The list lives
 * here, in one place, so a test can iterate every point and no call site invents its own.
 */
export const CRASH_POINTS = [
  // Deploy, in the runtime: the intent is on disk, nothing is attached yet.
  'deploy-after-intent',
  // Deploy at socket-select: program and socket array pinned, the array filled, the program attached.
  'socket-select-after-pin',
  'socket-select-after-fill',
  'socket-select-after-attach',
  // Deploy at an XDP hook: the policy is in its dispatcher slot, then its port is routed there.
  'xdp-after-install',
  'xdp-after-route',
  // Deploy, in the runtime again: attached; pinned by persist; recorded (the intent is gone).
  'deploy-after-attach',
  'deploy-after-persist',
  'deploy-after-record',
  // Replace: intent on disk; the new program swapped in; pinned; recorded.
  'replace-after-intent',
  'replace-after-swap',
  'replace-after-persist',
  'replace-after-record',
  // Undeploy: intent on disk; the socket group detached (its pins still there); the attachment closed (pins gone), not yet unrecorded.
  'undeploy-after-intent',
  'socket-select-after-detach',
  'undeploy-after-close',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The environment variable that arms one crash point (tests only). */
export const CRASH_POINT_ENV = 'SYRUP_TEST_CRASH_AT';

/** Kills this process with SIGKILL (no handler, no cleanup: a real crash) when `point` is armed. */
export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_POINT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
