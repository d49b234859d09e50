import { SyrupError } from '@syrup/core';

export type PersistenceErrorCode = 'STATE_FILE_INVALID' | 'STATE_FILE_WRITE_FAILED' | 'PIN_DIRECTORY_FAILED' | 'STATE_DIRECTORY_FAILED' | 'PERSIST_FAILED';

/** The runtime's persistence (state file, state and pin directories) failed; the message is one sentence. */
export class PersistenceError extends SyrupError<PersistenceErrorCode> {
  override name = 'PersistenceError';
}
