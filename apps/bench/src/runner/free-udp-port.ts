import { createSocket } from 'node:dgram';

/** A UDP port on 127.0.0.1 that was free a moment ago (the kernel picks it; the socket is closed again). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return socket.address().port;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
