// Keeps one of Node's next-tick records alive for the life of the process, so the object shape
// V8 learnt for them stays the one it learnt.
//
// `process.nextTick` builds each record as an object literal with computed keys; V8 compiles that
// literal to a fast store only while the site has seen one shape, and goes to its slowest generic
// path (a runtime call per key) the moment a second one appears — there is no way back. In a
// started Keyport that happened within a second of listening: in a CPU profile of /api/health under
// load about 10 % of the server's time went to that runtime call (every socket write and read end
// schedules a tick), against none in a bare Fastify server. With one record kept, the site stayed
// monomorphic through the same load and the call vanished from the profile (bench/README.md,
// "the next-tick shape"). A record holds its shape and, through it, the shapes it was built from.
//
// Imported first by main.ts, before any other module runs, so the record is taken early.
import { executionAsyncResource } from 'node:async_hooks';

let kept: object | null = null;
process.nextTick(() => {
  // inside a tick callback, the resource of the running context is the tick record itself
  kept = executionAsyncResource();
});

/** The record kept (null until the first tick ran): lets a test see that one was taken. */
export const keptTickRecord = (): object | null => kept;
