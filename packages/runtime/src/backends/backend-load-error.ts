import { SyrupError } from '@syrup/core';

/**
 * Why a backend package did not load: `BACKEND_NOT_FOUND` (no such package where syrupd looked,
 * or no entry module), `BACKEND_IMPORT_FAILED` (importing it threw), `BACKEND_NO_REGISTER` (it
 * exports no `register(container)`: not a backend yet), `BACKEND_REGISTER_FAILED` (its
 * `register` threw; nothing it registered was kept). The message is one sentence naming the package.
 */
export type BackendLoadErrorCode = 'BACKEND_NOT_FOUND' | 'BACKEND_IMPORT_FAILED' | 'BACKEND_NO_REGISTER' | 'BACKEND_REGISTER_FAILED';

export class BackendLoadError extends SyrupError<BackendLoadErrorCode> {
  override name = 'BackendLoadError';
  /** The reason alone, without the package's name and place (`it exports no register(container) function`), for listings that name the package already. */
  readonly detail: string;
  /** The package, once found: its package.json name and its directory. */
  readonly found: { readonly name: string; readonly dir: string } | undefined;

  constructor(code: BackendLoadErrorCode, message: string, options?: { cause?: unknown; detail?: string; found?: { name: string; dir: string } }) {
    super(code, message, options);
    this.detail = options?.detail ?? message.replace(/\.$/, '');
    this.found = options?.found;
  }
}
