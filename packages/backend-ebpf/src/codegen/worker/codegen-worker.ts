// The code generation worker's entry: runs generateProgram (policy IR -> eBPF program spec)
// on a worker thread, so a policy near the IR limit (hundreds of milliseconds the first time)
// does not stop syrupd's event loop and every other tenant's requests with it (issue #15).
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { generateProgram } from '../generate-program.js';
import { programListing } from '../program-listing.js';
import type { CodegenJob, CodegenReply } from './codegen-messages.js';
import { codegenFailureOf } from './codegen-transfer.js';

/** The worker's nice value: the event loop weighs about ten times as much when both want a CPU. */
const WORKER_NICE = 10;

const port = parentPort;
if (port === null) throw new Error('codegen-worker runs only as a worker thread');

// Generation is batch work: when the CPUs are busy the thread that answers every request
// comes first. On Linux setpriority(2) on "this process" (0) applies to the calling thread only.
try {
  setPriority(0, WORKER_NICE);
} catch {
  // A nice value the system refuses only costs fairness, never a program.
}

port.on('message', (job: CodegenJob) => {
  let reply: CodegenReply;
  try {
    // The target crosses as its id: generateProgram looks it up in CODEGEN_TARGETS.
    const spec = generateProgram(job.ir, job.options);
    // The listing `disasm` answers with is made here too: for a near-limit policy it costs the
    // event loop more than the rest of the reply (tens of milliseconds for 20000 lines).
    reply = { id: job.id, ok: true, spec, listing: programListing(spec) };
  } catch (error) {
    reply = { id: job.id, ok: false, error: codegenFailureOf(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });
