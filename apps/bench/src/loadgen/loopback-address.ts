/**
 * The load generator only ever talks to this machine: an open-loop generator pointed at a
 * remote host would be a packet flood, so anything but a loopback address is refused.
 */
export class NotLoopbackError extends Error {
  constructor(host: string) {
    super(`the load generator only sends to loopback addresses (127.0.0.0/8 or localhost), not ${host}`);
    this.name = 'NotLoopbackError';
  }
}

/** The IPv4 address of `host` as four bytes, or a NotLoopbackError when it is not 127.x.y.z. */
export function parseLoopbackHost(host: string): readonly [number, number, number, number] {
  if (host === 'localhost') return [127, 0, 0, 1];
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) throw new NotLoopbackError(host);
  const bytes = [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])] as const;
  if (bytes.some((b) => b > 255) || bytes[0] !== 127) throw new NotLoopbackError(host);
  return bytes;
}
