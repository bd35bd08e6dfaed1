/**
 * The baseline of bench/reconnect-storm and bench/snapshot: a plain socket.io v4 server (namespace /agents, websocket,
 * no auth, no
 * state) that greets each connection with one small message. Started and SIGTERMed like the gateway.
 */
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const server = http.createServer((req, res) => res.writeHead(req.url === '/health/ready' ? 200 : 404).end());
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
// RAW_PAYLOAD_BYTES: the greeting padded to that many bytes of JSON (bench/snapshot's same-size raw emit).
const base = { orgId: 'raw', epoch: 1, version: 1, pad: '' };
const hello = {
  ...base,
  pad: 'x'.repeat(Math.max(0, Number(process.env.RAW_PAYLOAD_BYTES ?? 0) - Buffer.byteLength(JSON.stringify(base)))),
};
io.of('/agents').on('connection', (s) => s.emit('hello', hello));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  void io.close();
  server.close(() => process.exit(0));
});
