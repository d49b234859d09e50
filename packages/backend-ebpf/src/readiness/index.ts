// @syrup/backend-ebpf/readiness: waiting for fds to become readable without blocking the event loop.
// Owns ReadinessPoller: one epoll set per syscall layer, waited on by one thread the layer starts
// (OsSyscalls.epollWaitThread), for ring buffers, AF_XDP sockets and target processes' pidfds.
export { READINESS_THREAD_NAME, ReadinessPoller, type ReadinessWatch, type WatchOptions } from './readiness-poller.js';
