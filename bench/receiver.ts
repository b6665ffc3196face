// A bare node:http receiver in its own process, so it does not compete with the app for the event loop.
// It answers 200 and measures commit-to-delivered latency from the envelope's timestamp.
import { createServer } from 'node:http';

const latencies: number[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { timestamp } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string };
    latencies.push(Date.now() - Date.parse(timestamp));
    res.writeHead(200).end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('message', (message: string) => {
  if (message === 'report') process.send!({ latencies });
  if (message === 'reset') {
    latencies.length = 0;
    process.send!({ ok: true });
  }
  if (message === 'stop') server.close(() => process.exit(0));
});
