import { channel } from 'node:diagnostics_channel';

/**
 * The name of the diagnostics channel (`node:diagnostics_channel`) on which every run of the
 * front end (`compilePolicy`) publishes a {@link FrontEndRun}, before it parses anything.
 *
 * It is instrumentation, not behaviour: it exists so that a test can prove the compile-once
 * contract (the runtime runs the front end once per deploy and per replace, inside its compile
 * worker; backends never do). A channel is looked up by name, so a subscriber hears every copy
 * of core loaded in its thread; each thread (a compile worker) has its own channels, so a
 * subscriber hears only the runs of its own thread. Nothing is published without a subscriber.
 */
export const FRONT_END_CHANNEL = 'syrup:core:front-end';

/** What one run of the front end publishes on {@link FRONT_END_CHANNEL}. */
export interface FrontEndRun {
  /** The policy module's file name, as given in its `PolicySource`. */
  readonly fileName: string;
}

const frontEnd = channel(FRONT_END_CHANNEL);

/** Called by `compilePolicy` once per run; free when nobody listens. */
export function publishFrontEndRun(run: FrontEndRun): void {
  if (frontEnd.hasSubscribers) frontEnd.publish(run);
}
