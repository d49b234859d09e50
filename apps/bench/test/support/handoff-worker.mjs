// A thread of the handoff test: sends `count` requests (4-byte ids: thread * 1e6 + i) round
// robin to the other threads, and serves what is handed to it until it has seen `expected`
// requests, recording each id it got. Posts { received: number[] } when done.
import { workerData, parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { HandoffMesh } = await tsImport('../../src/mica/handoff-mesh.ts', import.meta.url);
const { layout, thread, count, expected } = workerData;
const mesh = new HandoffMesh(layout);
const received = [];
const scratch = new Uint8Array(layout.slotBytes);
const request = new Uint8Array(4);
const view = new DataView(request.buffer);
const serve = (bytes, from) => received.push(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) * 16 + from);
let sent = 0;
let retries = 0;
while (sent < count || received.length < expected) {
  if (sent < count) {
    const to = (thread + 1 + (sent % (layout.threads - 1))) % layout.threads;
    view.setUint32(0, thread * 1_000_000 + sent, true);
    if (mesh.send(thread, to, request)) sent++;
    else retries++;
  }
  const seen = mesh.doorbell(thread);
  if (mesh.receive(thread, scratch, serve) === 0 && sent === count && received.length < expected) mesh.wait(thread, seen, 50);
}
parentPort.postMessage({ received, retries });
