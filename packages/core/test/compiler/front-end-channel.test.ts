import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { FRONT_END_CHANNEL, compilePolicy, type FrontEndRun } from '../../src/index.js';
import { udpPolicy } from '../support/compile.js';

describe('FRONT_END_CHANNEL', () => {
  const runs: FrontEndRun[] = [];
  const listener = (message: unknown): void => {
    runs.push(message as FrontEndRun);
  };
  afterEach(() => {
    unsubscribe(FRONT_END_CHANNEL, listener);
    runs.length = 0;
  });

  it('hears one run per compilePolicy call, with the file name, whether or not the module compiles', () => {
    subscribe(FRONT_END_CHANNEL, listener);
    compilePolicy({ fileName: 'a.ts', text: udpPolicy('    return 0;') });
    expect(() => compilePolicy({ fileName: 'b.ts', text: 'this is not a policy' })).toThrow();
    compilePolicy({ fileName: 'c.ts', text: udpPolicy('    return 1;') });
    expect(runs).toEqual([{ fileName: 'a.ts' }, { fileName: 'b.ts' }, { fileName: 'c.ts' }]);
  });

  it('hears nothing once unsubscribed', () => {
    subscribe(FRONT_END_CHANNEL, listener);
    unsubscribe(FRONT_END_CHANNEL, listener);
    compilePolicy({ fileName: 'a.ts', text: udpPolicy('    return 0;') });
    expect(runs).toEqual([]);
  });
});
