// The baseline for HTTP request rates: a bare node:http server that reads each request body in
// full and answers with a small JSON body of the size Factum answers an append with. No
// framework, no parsing, no storage: the most a Node HTTP server can do on this machine.
import { createServer } from 'node:http';

let revision = 0;
const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    revision += 1;
    const body = `{"revision":${revision},"events_count":${bytes > 0 ? 1 : 0}}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
