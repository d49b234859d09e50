// @syrup/backend-ebpf/xsk: AF_XDP in TypeScript.
// Owns the UMEM, the four rings, sockets sharing one UMEM on a queue, a server loop, and the
// frame helpers (UDP echo, internet checksums) its examples use.
export { XskUmem, ringOffsets, type XskQueueBinding, type XskUmemOptions } from './xsk-umem.js';
// The rings themselves, for a thread that maps a socket's RX and TX rings of its own (a server thread per socket).
export { XskConsumerRing, XskProducerRing, type XskRingEntry, type XskRingOffsets } from './xsk-ring.js';
export { MSG_DONTWAIT, XdpRingPageOffset } from './xsk-constants.js';
export { XskSocket, type XskFrame, type XskSocketOptions, type XskStatistics } from './xsk-socket.js';
export { XskSocketGroup, type XskSocketGroupOptions } from './xsk-socket-group.js';
export { kickTransmit, type KickTransmitOptions } from './xsk-kick.js';
export { XskServer, type XskFrameHandler, type XskServerCounters, type XskServerOptions } from './xsk-server.js';
export { XskError, type XskErrorCode } from './xsk-error.js';
export { echoUdpFrame } from './echo-udp-frame.js';
export { finishChecksum, ipv4HeaderChecksum, onesComplementSum, udpChecksum } from './internet-checksum.js';
