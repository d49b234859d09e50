export { SyrupError } from './syrup-error.js';
export { LowLevelError, isRefusal } from './low-level-error.js';
