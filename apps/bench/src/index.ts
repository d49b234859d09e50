export { HEADER_BYTES, readRequestHeader, requestIdOf, RequestType, requestTypeOf, writeRequestHeader, type RequestHeader } from './wire/request-header.js';
