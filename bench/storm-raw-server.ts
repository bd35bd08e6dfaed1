/**
 * The baseline of bench/reconnect-storm: a plain socket.io v4 server (namespace /agents, websocket, no auth, no
 * state) that greets each connection with one small message. Started and SIGTERMed like the gateway.
 */
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const server = http.createServer((req, res) => res.writeHead(req.url === '/health/ready' ? 200 : 404).end());
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.of('/agents').on('connection', (s) => s.emit('hello', { orgId: 'raw', epoch: 1, version: Number(process.env.RAW_VERSION ?? 1) }));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  server.close(() => process.exit(0));
});
