import { SyrupError } from '../errors/syrup-error.js';

/**
 * The hook registry refused a backend: another backend registered earlier already provides one
 * of its hooks (`HOOK_TAKEN`), or already uses its name (`BACKEND_NAME_TAKEN`). The whole
 * backend is refused, not just the hook, so a backend never runs with part of what it declares;
 * the earlier backend keeps what it has.
 */
export class BackendRefusedError extends SyrupError {
  override name = 'BackendRefusedError';
  /** The refused backend. */
  readonly backend: string;
  /** The backend registered first, which keeps the hook or the name. */
  readonly holder: string;
  /** The hook both declare; undefined for a name clash. */
  readonly hook: string | undefined;

  constructor(backend: string, holder: string, hook?: string) {
    super(
      hook === undefined ? 'BACKEND_NAME_TAKEN' : 'HOOK_TAKEN',
      hook === undefined
        ? `backend '${backend}' is refused: a backend named '${holder}' is already registered.`
        : `backend '${backend}' is refused: it declares hook '${hook}', which backend '${holder}' already provides.`,
    );
    this.backend = backend;
    this.holder = holder;
    this.hook = hook;
  }
}
