// A stand-in for the key-value server in the load generator's tests: echoes each request's
// 24-byte header followed by a worker index (always 0) and ignores every Nth request
// (argv[2], 0 = none) so the tests can see drops; binds argv[3] (default 127.0.0.1). Prints its port, then serves until killed.
import { createSocket } from 'node:dgram';

const ignoreEvery = Number(process.argv[2] ?? 0);
let seen = 0;
// Large buffers: on a busy machine this process may wait for a CPU while requests pile up.
const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
socket.on('message', (message, peer) => {
  seen++;
  if (ignoreEvery > 0 && seen % ignoreEvery === 0) return;
  const reply = Buffer.alloc(28);
  message.copy(reply, 0, 0, 24);
  socket.send(reply, peer.port, peer.address);
});
socket.bind(0, process.argv[3] ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`);
});
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
