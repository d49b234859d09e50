// The compile worker's entry: runs core's policy front end on untrusted source in a worker
// thread, so that the service can stop a compile that takes too long by terminating the
// thread (a compile on the main thread could not be interrupted). It is the only place the
// runtime runs the front end: the IR it returns is what the backend generates code from.
import { parentPort } from 'node:worker_threads';
import { compilePolicy, isRefusal, PolicyCompileError } from '@syrup/core';
import type { CompileJob, CompileReply, WorkerFailure } from './compile-messages.js';
import { runAtNice } from './compile-worker-priority.js';

const port = parentPort;
if (port === null) throw new Error('compile-worker.ts runs only as a worker thread');

port.on('message', (job: CompileJob) => {
  let reply: CompileReply;
  runAtNice(job.nice);
  try {
    const { ir } = compilePolicy(job.source, job.params === undefined ? {} : { params: job.params });
    reply = { id: job.id, ok: true, ir };
  } catch (error) {
    reply = { id: job.id, ok: false, error: failureOf(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });

function failureOf(error: unknown): WorkerFailure {
  if (error instanceof PolicyCompileError) {
    return { kind: 'compile', code: error.code, message: error.message, fileName: error.fileName, line: error.line, column: error.column, reason: error.reason };
  }
  if (isRefusal(error)) return { kind: 'syrup', code: error.code, message: error.message };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}
