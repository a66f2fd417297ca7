// The baseline of the object figures: the same bytes through a bare node:http server and a file,
// as little as a server can do. PUT /f writes the body to one file (fsync'd before the answer, as
// Keyport's fs store does); GET /f streams it back.   node --import tsx bare-files.ts
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-bare-files-'));
const file = path.join(dir, 'f');
const server = http.createServer((req, res) => {
  const done = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (req.method === 'PUT') {
    pipeline(req, fs.createWriteStream(file, { flush: true })).then(
      () => done(200, JSON.stringify({ size: fs.statSync(file).size })),
      (err: Error) => done(500, JSON.stringify({ error: err.message })),
    );
    return;
  }
  const size = fs.statSync(file).size;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`BARE FILES READY http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => {
  fs.rmSync(dir, { recursive: true, force: true });
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
