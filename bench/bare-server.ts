// Reference points for the load generator: a bare Fastify route and a bare node:http handler (no
// plugins, no hooks). If the load generator reaches far more here than on Keyport, it is not the
// bottleneck of the Keyport figures.   BARE=fastify|http node --import tsx bare-server.ts
import http from 'node:http';
import Fastify from 'fastify';

const body = JSON.stringify({ status: 'ok' });
let address: string;
if (process.env.BARE === 'http') {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address() as { port: number };
  address = `http://127.0.0.1:${a.port}`;
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  const app = Fastify({ logger: false });
  app.get('/api/health', async () => ({ status: 'ok' }));
  address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
console.log(`BARE READY ${address}`);
