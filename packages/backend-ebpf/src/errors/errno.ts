/**
 * Linux errno numbers the backend meets, by name. x86_64 and aarch64 share the asm-generic
 * numbering, so one table serves both; a number outside it is reported as `EUNKNOWN`.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  ENOTTY: 25,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOTSOCK: 88,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  ENETDOWN: 100,
  ENOBUFS: 105,
  ENOLINK: 67,
  EBADFD: 77,
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof ERRNO;
/** An errno name, or `EUNKNOWN` for a number this table does not know. */
export type ErrnoCode = ErrnoName | 'EUNKNOWN';

const NAMES = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, value]) => [value, name]),
);

/** The name of an errno number, such as `EPERM` for 1. */
export function errnoName(errno: number): ErrnoCode {
  return NAMES.get(errno) ?? 'EUNKNOWN';
}

/**
 * The likely cause of an errno in the bpf() family, phrased as a clause. Operation-specific
 * hints come first because the same errno means different things to different commands
 * (E2BIG is "key out of range" to an array update but "attr too large" to the syscall).
 */
const OPERATION_HINTS: Readonly<Record<string, Partial<Record<ErrnoName, string>>>> = {
  BPF_MAP_UPDATE_ELEM: {
    E2BIG: 'the key is beyond an array map\'s max_entries, or a hash map is full',
    EEXIST: 'the key already exists and the update asked for BPF_NOEXIST',
    ENOENT: 'the key does not exist and the update asked for BPF_EXIST',
  },
  BPF_MAP_LOOKUP_ELEM: { ENOENT: 'the key is not in the map' },
  BPF_MAP_DELETE_ELEM: {
    ENOENT: 'the key is not in the map',
    EINVAL: 'entries of array maps cannot be deleted',
  },
  BPF_MAP_GET_NEXT_KEY: { ENOENT: 'the iteration reached the last key' },
  BPF_MAP_CREATE: {
    EINVAL: 'the map type, key/value size, max_entries or flags are not valid for this kernel',
    E2BIG: 'the attr carries fields this kernel does not know, or the map is too large',
    ENOMEM: 'the map is too large for the memory cgroup or the memlock limit',
  },
  BPF_PROG_LOAD: {
    EACCES: 'the verifier rejected the program; its log says why',
    EINVAL: 'the program was rejected; its verifier log says why',
    ENOSPC: 'the verifier log buffer is too small',
    E2BIG: 'the program has too many instructions',
  },
  BPF_PROG_TEST_RUN: {
    ENOTSUPP: 'this program type has no test-run support',
    ENOSPC: 'the output buffer is too small for the result',
  },
  BPF_OBJ_GET: {
    ENOENT: 'nothing is pinned at that path',
    EACCES: 'the pin\'s owner or mode does not allow this user to open it',
    EPERM: 'the pin\'s owner or mode does not allow this user to open it',
  },
  BPF_OBJ_PIN: {
    EEXIST: 'something is already pinned at that path',
    ENOENT: 'the parent directory of the pin does not exist',
    EPERM: 'the path is not inside a bpf filesystem, or CAP_BPF/root is missing',
  },
  mount: { EPERM: 'mounting a filesystem needs CAP_SYS_ADMIN' },
  pidfd_getfd: { EPERM: 'duplicating another process\'s fd needs ptrace access (CAP_SYS_PTRACE or the same uid)' },
};

const GENERIC_HINTS: Partial<Record<ErrnoName, string>> = {
  EPERM: 'missing CAP_BPF/root (or memlock limit)',
  EACCES: 'permission denied by file mode, owner or a security policy',
  ENOENT: 'the object does not exist',
  EEXIST: 'the object already exists',
  EINVAL: 'an argument is not valid for this kernel',
  E2BIG: 'an argument is too large',
  ENOSPC: 'a buffer or a table is full',
  EBADF: 'the file descriptor is not open or has the wrong type',
  ENOMEM: 'the kernel could not allocate memory',
  ENOSYS: 'this kernel does not implement the call',
  EOPNOTSUPP: 'this kernel or device does not support the operation',
  ENOTSUPP: 'this kernel or device does not support the operation',
  EBUSY: 'the object is in use',
  EFAULT: 'the kernel could not read or write a user buffer (a bug in the caller)',
  EMFILE: 'the process is out of file descriptors',
  EAGAIN: 'the resource is temporarily unavailable; retry',
  ENOTDIR: 'a path component is not a directory',
  ENOTTY: 'the descriptor does not take this ioctl request',
};

/** A clause naming the likely cause of `code` for `operation`. */
export function errnoHint(operation: string, code: ErrnoCode): string {
  if (code === 'EUNKNOWN') return 'an unexpected error number';
  return OPERATION_HINTS[operation]?.[code] ?? GENERIC_HINTS[code] ?? 'see errno(3)';
}
