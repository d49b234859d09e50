// A compile worker for order tests: it compiles with core's real front end, but only when the
// test says so. Each job is announced on the BroadcastChannel SYRUP_TEST_GATE_CHANNEL names,
// as { started: fileName, nice }, and waits there until the test posts { release: fileName }; the
// reply is then the real compile's, as the runtime's own worker (compile-worker.ts) makes it.
// Tests thus see which compile the PolicyCompiler started, and in which order, without timing.
import { getPriority } from 'node:os';
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import { compilePolicy, PolicyCompileError, SyrupError } from '@syrup/core';
import type { CompileJob, CompileReply } from '../../src/service/compile/compile-messages.js';
import { runAtNice } from '../../src/service/compile/compile-worker-priority.js';

const port = parentPort;
const name = process.env['SYRUP_TEST_GATE_CHANNEL'];
if (port === null || name === undefined) throw new Error('gated-compile-worker.ts runs only as a compile worker with SYRUP_TEST_GATE_CHANNEL set');
const channel = new BroadcastChannel(name);
const held = new Map<string, CompileJob>();

port.on('message', (job: CompileJob) => {
  held.set(job.source.fileName, job);
  // As the real worker does, then the nice value the compile would run at, for the test to read.
  runAtNice(job.nice);
  channel.postMessage({ started: job.source.fileName, nice: getPriority(0) });
});
channel.onmessage = (event) => {
  const release = (event as { data: { release?: string } }).data.release;
  const job = release === undefined ? undefined : held.get(release);
  if (job === undefined) return;
  held.delete(release as string);
  let reply: CompileReply;
  try {
    reply = { id: job.id, ok: true, ir: compilePolicy(job.source, job.params === undefined ? {} : { params: job.params }).ir };
  } catch (error) {
    const failure =
      error instanceof PolicyCompileError
        ? ({ kind: 'compile', code: error.code, message: error.message, fileName: error.fileName, line: error.line, column: error.column, reason: error.reason } as const)
        : error instanceof SyrupError
          ? ({ kind: 'syrup', code: error.code, message: error.message } as const)
          : ({ kind: 'other', message: String(error) } as const);
    reply = { id: job.id, ok: false, error: failure };
  }
  port.postMessage(reply);
};
port.postMessage({ ready: true });
