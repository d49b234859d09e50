// The MICA server tests' client, run in the load generator's namespace: sends `count`
// requests (ids 0 to count-1, uniform keys below `keys`, GET and PUT alternating) to
// host:port with at most `window` unanswered at a time, then prints one JSON object:
// every reply as [id, key, worker, type], and the ids answered more than once or never.
import { createSocket } from 'node:dgram';

const [host, portText, countText, keysText, windowText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const keys = BigInt(keysText);
const window = Number(windowText ?? 16);
const socket = createSocket('udp4');
const replies = [];
const answered = new Map();
let next = 0;
let inFlight = 0;
let seed = 12345;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed;
};
const keyOf = new Map();

function send() {
  while (inFlight < window && next < count) {
    const id = next++;
    const key = BigInt(random()) % keys;
    keyOf.set(id, key);
    const type = id % 2 === 0 ? 0 : 2;
    const request = Buffer.alloc(type === 2 ? 24 + 32 : 24);
    request.writeUInt32BE(type, 0);
    request.writeUInt32BE(0, 4);
    request.writeBigUInt64BE(BigInt(id), 8);
    request.writeBigUInt64BE(key, 16);
    if (type === 2) request.fill(id & 0xff, 24);
    inFlight++;
    socket.send(request, port, host);
  }
}

let idle;
const finish = () => {
  socket.close();
  const duplicates = [...answered].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = [];
  for (let id = 0; id < count; id++) if (!answered.has(id)) missing.push(id);
  process.stdout.write(`${JSON.stringify({ replies, duplicates, missing })}\n`);
};
const armIdle = () => {
  clearTimeout(idle);
  idle = setTimeout(finish, 3000);
};
socket.on('message', (message) => {
  if (message.length < 28) return;
  const id = Number(message.readBigUInt64BE(8));
  const key = message.readBigUInt64BE(16);
  answered.set(id, (answered.get(id) ?? 0) + 1);
  replies.push([id, Number(key), message.readUInt32BE(24), message.readUInt32BE(0)]);
  if (answered.get(id) === 1) inFlight--;
  armIdle();
  send();
});
socket.bind(0, () => {
  armIdle();
  send();
});
