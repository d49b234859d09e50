import { describe, expect, it } from 'vitest';
import { LowLevelError, SyrupError, isRefusal } from '../src/index.js';

type ExampleCode = 'EXAMPLE_CLOSED' | 'EXAMPLE_INVALID';

class ExampleError extends SyrupError<ExampleCode> {
  override readonly name = 'ExampleError';
}

describe('SyrupError', () => {
  it('carries its code, message and cause', () => {
    const cause = new Error('EPERM');
    const error = new SyrupError('SOMETHING_FAILED', 'something failed.', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SyrupError');
    expect(error.code).toBe('SOMETHING_FAILED');
    expect(error.message).toBe('something failed.');
    expect(error.cause).toBe(cause);
  });

  it('a family subclass needs no constructor and stays a SyrupError', () => {
    const error: unknown = new ExampleError('EXAMPLE_CLOSED', 'the example is closed.');
    expect(error).toBeInstanceOf(SyrupError);
    expect(error).toBeInstanceOf(ExampleError);
    if (!(error instanceof ExampleError)) throw new Error('unreachable');
    const code: ExampleCode = error.code;
    expect(code).toBe('EXAMPLE_CLOSED');
    expect(error.name).toBe('ExampleError');
    expect(String(error)).toBe('ExampleError: the example is closed.');
  });
});

class ExampleLowLevelError extends LowLevelError<'EXAMPLE_FULL'> {
  override readonly name = 'ExampleLowLevelError';
}

describe('LowLevelError and isRefusal', () => {
  it('a low-level error is a SyrupError with its code, but not a refusal to pass to the caller as is', () => {
    const error = new ExampleLowLevelError('EXAMPLE_FULL', "map 'next' is full.");
    expect(error).toBeInstanceOf(SyrupError);
    expect(error.code).toBe('EXAMPLE_FULL');
    expect(isRefusal(error)).toBe(false);
  });

  it('every other SyrupError is a refusal; anything else is not', () => {
    expect(isRefusal(new ExampleError('EXAMPLE_INVALID', 'the example is invalid.'))).toBe(true);
    expect(isRefusal(new SyrupError('SOMETHING_FAILED', 'something failed.'))).toBe(true);
    expect(isRefusal(new Error('plain'))).toBe(false);
    expect(isRefusal('EPERM')).toBe(false);
  });
});
