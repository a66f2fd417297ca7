// Turns off V8's allocation-site pretenuring for this process, before the server allocates anything.
//
// Pretenuring lets V8 allocate the objects of an allocation site it judges long-lived straight into
// the old generation. In a started Keyport under load, about one start in three got into a state
// where scavenges took ≈12 ms instead of ≈1 ms, ≈45 % of young allocation was promoted and then
// died in the old generation, and the server spent ≈30 % of its time in GC: about 50 µs of CPU per
// request instead of about 28, for health and whoami alike. It was bimodal (a process had it from
// its first seconds under load or never) and gone in every start with pretenuring off (0 of 14,
// against 6 of 20 with it; bench/README.md, "Pretenuring"). The likely mechanism: per-request
// objects allocated old, where dead ones still act as roots for the young generation until the
// next full collection, so what they point to is promoted too. A bare Fastify server never got
// there; its requests make too few objects for a site to look long-lived.
import v8 from 'node:v8';

v8.setFlagsFromString('--no-allocation-site-pretenuring');
