/*
 * Loopback UDP traffic for bench/socket-select-bench.ts: one binary, two roles.
 *
 *   udp-flood recv <sockets> <cpu> <max-seconds> <nice>
 *     Binds <sockets> SO_REUSEPORT UDP sockets to one port of 127.0.0.1 and drains them with
 *     recvmmsg(MSG_DONTWAIT), sleeping in poll() when all are empty, counting datagrams per
 *     socket. Prints {"port","pid","fds"} once bound. Runs at niceness <nice>.
 *   udp-flood send <port> <flows> <cpu> <batch> <payload-bytes> <max-seconds>
 *     Sends <payload-bytes> datagrams to 127.0.0.1:<port> with sendmmsg, <batch> per call,
 *     from <flows> connected sockets in turn (distinct source ports, so the kernel's hash
 *     spreads them over the group). Starts paused.
 *
 * Both read one command per line on stdin and answer one JSON line: "sample" prints
 * {"t": CLOCK_MONOTONIC ns, "cpu": the process's CPU time in ns, ...counters}; the sender
 * also takes "run" and "pause" (answered {"ok":true}). End of stdin, the parent's death
 * (PR_SET_PDEATHSIG) or <max-seconds> of life end the process, so a crashed benchmark
 * leaves no traffic behind.
 *
 * <cpu> pins the process (-1: no pinning): on a 2-CPU machine sender and receiver each get
 * one, so neither steals the other's time slices.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define MAX_BATCH 256

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* This process's CPU time: on a kernel without IRQ time accounting it includes the softirq
 * work done in its context, which for the sender is the whole loopback receive path. */
static uint64_t cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Commands arrive whole (the parent writes one short line at a time); partial reads are kept. */
static char line[256];
static size_t line_len;

/* Reads what stdin has; returns 1 and the command in `line` when a full line is there, -1 on EOF. */
static int read_command(int wait_ms) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  if (poll(&p, 1, wait_ms) <= 0) return 0;
  ssize_t n = read(0, line + line_len, sizeof line - 1 - line_len);
  if (n <= 0) return -1;
  line_len += (size_t)n;
  char *newline = memchr(line, '\n', line_len);
  if (newline == NULL) {
    if (line_len >= sizeof line - 1) line_len = 0; /* Garbage: drop it. */
    return 0;
  }
  *newline = '\0';
  line_len = 0; /* One command per poll: the parent waits for each answer before the next. */
  return 1;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int receive(int count, int cpu, int max_seconds, int nice) {
  if (count < 1 || count > MAX_SOCKETS) return 2;
  pin(cpu);
  if (nice != 0 && setpriority(PRIO_PROCESS, 0, nice) != 0) perror("setpriority");
  int fds[MAX_SOCKETS];
  int port = 0;
  for (int i = 0; i < count; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fds[i] < 0) die("socket");
    int one = 1;
    if (setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) die("SO_REUSEPORT");
    /* Room for the moments this process is off its CPU; FORCE passes rmem_max as root. */
    int size = 4 << 20;
    if (setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_in a = loopback(port);
    if (bind(fds[i], (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    socklen_t len = sizeof a;
    getsockname(fds[i], (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
  }
  printf("{\"port\":%d,\"pid\":%d,\"fds\":[", port, (int)getpid());
  for (int i = 0; i < count; i++) printf(i ? ",%d" : "%d", fds[i]);
  printf("]}\n");
  fflush(stdout);

  static char buffers[MAX_BATCH][2048];
  static struct iovec iov[MAX_BATCH];
  static struct mmsghdr msgs[MAX_BATCH];
  for (int i = 0; i < MAX_BATCH; i++) {
    iov[i].iov_base = buffers[i];
    iov[i].iov_len = sizeof buffers[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t received[MAX_SOCKETS] = {0};
  uint64_t deadline = now_ns() + (uint64_t)max_seconds * 1000000000ull;
  for (unsigned long loop = 0;; loop++) {
    int got_any = 0;
    for (int i = 0; i < count; i++) {
      int n = recvmmsg(fds[i], msgs, MAX_BATCH, MSG_DONTWAIT, NULL);
      if (n > 0) {
        received[i] += (uint64_t)n;
        got_any = 1;
      }
    }
    /* Drains while datagrams are queued, looking at stdin only every 256 rounds. */
    if (got_any && (loop & 255) != 0) continue;
    if (!got_any) {
      /*
       * Every queue is empty: sleep until a datagram or a command arrives, as a server does.
       * (A receiver that spins instead loses its CPU share to whatever else runs on a
       * shared machine, and overflows its buffers; this one is woken by the sender's
       * softirq, which is part of what a datagram costs.)
       */
      struct pollfd p[MAX_SOCKETS + 1];
      for (int i = 0; i < count; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
      p[count] = (struct pollfd){.fd = 0, .events = POLLIN};
      poll(p, (nfds_t)count + 1, 100);
    }
    int command = read_command(0);
    if (command < 0) return 0;
    if (command > 0 && strcmp(line, "sample") == 0) {
      printf("{\"t\":%llu,\"cpu\":%llu,\"received\":[", (unsigned long long)now_ns(), (unsigned long long)cpu_ns());
      for (int i = 0; i < count; i++) printf(i ? ",%llu" : "%llu", (unsigned long long)received[i]);
      printf("]}\n");
      fflush(stdout);
    }
    if (now_ns() > deadline) return 3;
  }
}

static int send_flood(int port, int flows, int cpu, int batch, int payload, int max_seconds) {
  if (flows < 1 || flows > MAX_SOCKETS || batch < 1 || batch > MAX_BATCH || payload < 1 || payload > 1400) return 2;
  pin(cpu);
  int fds[MAX_SOCKETS];
  struct sockaddr_in to = loopback(port);
  for (int i = 0; i < flows; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[i] < 0) die("socket");
    struct sockaddr_in from = loopback(0);
    if (bind(fds[i], (struct sockaddr *)&from, sizeof from) != 0) die("bind");
    /* Connected: the route is looked up once, not per datagram. */
    if (connect(fds[i], (struct sockaddr *)&to, sizeof to) != 0) die("connect");
  }
  static char data[1400];
  memset(data, 0x5a, sizeof data);
  static struct iovec iov[MAX_BATCH];
  static struct mmsghdr msgs[MAX_BATCH];
  for (int i = 0; i < batch; i++) {
    iov[i].iov_base = data;
    iov[i].iov_len = (size_t)payload;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  printf("{\"ready\":true}\n");
  fflush(stdout);
  uint64_t sent = 0, errors = 0;
  uint64_t deadline = now_ns() + (uint64_t)max_seconds * 1000000000ull;
  int running = 0;
  for (unsigned long call = 0;; call++) {
    if (running) {
      int n = sendmmsg(fds[call % (unsigned long)flows], msgs, (unsigned)batch, 0);
      if (n > 0) sent += (uint64_t)n;
      else errors++;
      if ((call & 63) != 0) continue;
    }
    int command = read_command(running ? 0 : 100);
    if (command < 0) return 0;
    if (command > 0) {
      if (strcmp(line, "run") == 0) {
        running = 1;
        printf("{\"ok\":true}\n");
      } else if (strcmp(line, "pause") == 0) {
        running = 0;
        printf("{\"ok\":true}\n");
      } else if (strcmp(line, "sample") == 0) {
        printf("{\"t\":%llu,\"cpu\":%llu,\"sent\":%llu,\"errors\":%llu}\n", (unsigned long long)now_ns(), (unsigned long long)cpu_ns(), (unsigned long long)sent,
               (unsigned long long)errors);
      }
      fflush(stdout);
    }
    if (now_ns() > deadline) return 3;
  }
}

int main(int argc, char **argv) {
  /* Dies with the benchmark, whatever way it ends. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 4;
  if (argc == 6 && strcmp(argv[1], "recv") == 0) return receive(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 8 && strcmp(argv[1], "send") == 0) {
    return send_flood(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  }
  fprintf(stderr, "usage: udp-flood recv <sockets> <cpu> <max-seconds> <nice> | send <port> <flows> <cpu> <batch> <payload> <max-seconds>\n");
  return 2;
}
