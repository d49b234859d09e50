// The runtime's real compile worker (src/service/compile/compile-worker.ts), plus one listener:
// every run of core's front end in this worker thread is appended, as its file name on one
// line, to the file SYRUP_TEST_FRONT_END_LOG names. Appended synchronously while the front end
// runs, so the line is on disk before the worker replies to the compile.
import { subscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import { FRONT_END_CHANNEL, type FrontEndRun } from '@syrup/core';
import '../../src/service/compile/compile-worker.js';

const log = process.env['SYRUP_TEST_FRONT_END_LOG'];
if (log === undefined) throw new Error('counting-compile-worker.ts needs SYRUP_TEST_FRONT_END_LOG');
subscribe(FRONT_END_CHANNEL, (message) => appendFileSync(log, `${(message as FrontEndRun).fileName}\n`));
