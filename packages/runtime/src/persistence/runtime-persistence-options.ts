/** One line of what recovery or persistence did, for the daemon's log. */
export type PersistenceLog = (level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => void;

/**
 * Settings of the runtime's persistence, under the {@link RuntimePersistenceOptions} token.
 * Without them (`embedded()`) nothing is pinned or recorded and deployments end with the
 * process, as before.
 */
export interface RuntimePersistenceOptions {
  /**
   * Root of the deployments' state directories (`<stateRoot>/<id>/`), on an ordinary file
   * system (syrupd's --state-dir or SYRUP_STATE_DIR; /var/lib/syrup/deployments by default there).
   */
  readonly stateRoot: string;
  /**
   * Root of the pins, on bpffs (syrupd's --pin-root; /sys/fs/bpf/syrup by default there), for
   * backends that pin kernel objects. Without it deployments get no pin directory, and a
   * backend that pins cannot persist.
   */
  readonly pinRoot?: string;
  /** The JSON state file, written atomically (syrupd's --state-file; /var/lib/syrup/state.json by default there). */
  readonly stateFile: string;
  readonly log?: PersistenceLog;
}

export const RuntimePersistenceOptions: unique symbol = Symbol.for('@syrup/runtime.RuntimePersistenceOptions');
