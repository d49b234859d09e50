// `@syrup/core/errors`: the framework's error base alone, for clients that tell refusals by
// `code` (the CLI, the runtime's client) without loading core's policy compiler and its
// TypeScript front end, which costs a short-lived command most of its start-up time and memory.
export { LowLevelError, SyrupError, isRefusal } from './syrup-error.js';
