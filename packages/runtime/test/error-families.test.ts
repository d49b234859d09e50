import { SyrupError } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { BackendLoadError, CompilerError, LimitError, PersistenceError, ProtocolError, RemoteError, RuntimeError } from '../src/index.js';

describe("the runtime's errors share core's SyrupError", () => {
  it('every family keeps its name, code, cause and data of its own', () => {
    const cause = new Error('underlying');
    const errors = [
      [new RuntimeError('NOT_OWNER', 'm.', { cause }), 'RuntimeError', 'NOT_OWNER'],
      [new ProtocolError('PROTOCOL_MALFORMED', 'm.', { cause }), 'ProtocolError', 'PROTOCOL_MALFORMED'],
      [new PersistenceError('STATE_FILE_INVALID', 'm.', { cause }), 'PersistenceError', 'STATE_FILE_INVALID'],
      [new CompilerError('COMPILER_CLOSED', 'm.', { cause }), 'CompilerError', 'COMPILER_CLOSED'],
      [new LimitError('LIMIT_DEPLOYMENTS', 'm.', 8, { cause }), 'LimitError', 'LIMIT_DEPLOYMENTS'],
      [new BackendLoadError('BACKEND_NOT_FOUND', 'm.', { cause }), 'BackendLoadError', 'BACKEND_NOT_FOUND'],
    ] as const;
    for (const [error, name, code] of errors) {
      expect(error).toBeInstanceOf(SyrupError);
      expect(error).toMatchObject({ name, code, message: 'm.', cause });
    }
    expect(new LimitError('LIMIT_DEPLOYMENTS', 'm.', 8).limit).toBe(8);
    expect(new RemoteError('SOMEONE_ELSES_CODE', 'm.')).toMatchObject({ name: 'RemoteError', code: 'SOMEONE_ELSES_CODE' });
  });
});
