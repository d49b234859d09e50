// Test doubles for code built on this package: a model kernel behind the same Syscalls
// interface, for unit tests that run without privileges.
export {
  FakeSyscalls,
  type FakeLink,
  type FakeObject,
  type FakeProg,
  type FakeProgLoadAnswer,
  type FakeSyscallsOptions,
  type OverridableCall,
  type FakeTestRunAnswer,
} from './syscalls/fake-syscalls.js';
