// An S3-compatible server for the object figures (s3rver on loopback, the tests' fixture), in its
// own process.   node --import tsx s3-server.ts   prints "S3 READY <endpoint> <bucket>".
import { BUCKET, startS3 } from '../server/test/objects-helpers.js';

const s3 = await startS3();
console.log(`S3 READY ${s3.endpoint} ${BUCKET}`);
process.on('SIGTERM', () => void s3.stop().then(() => process.exit(0)));
