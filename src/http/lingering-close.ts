/**
 * Closing a connection while the client is still sending makes the kernel answer the unread
 * bytes with a reset, and a client that gets the reset before it has read the answer loses the
 * answer (a 431 for a 70 KB header, a 404 ahead of a large upload). A lingering close avoids
 * that: end our side, read and discard what the client still sends until it closes its side,
 * within bounds, and only then destroy the socket.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How long, and how much, a client may go on sending once its connection is being closed. */
export const LINGER_BOUNDS = { ms: 2_000, bytes: 1024 * 1024 };

/** Ends our side of `socket`, discards what still comes until the client ends or the bounds are reached, then destroys it. */
export function lingeringClose(socket: Duplex, bounds = LINGER_BOUNDS): void {
  socket.end();
  let bytes = 0;
  const timer = setTimeout(() => socket.destroy(), bounds.ms);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > bounds.bytes) socket.destroy();
  });
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

/**
 * Makes every close the server does after an answer (`Connection: close`, HTTP/1.0) a lingering
 * one. Node closes such a connection with `socket.destroySoon()` once the answer is written;
 * each socket of this server gets a destroySoon that lingers instead.
 */
export function closeConnectionsLingering(server: Server): void {
  server.on('connection', (socket: Socket) => {
    socket.destroySoon = () => lingeringClose(socket);
  });
}

/**
 * For an answer given before the request's body has arrived (a refusal of its path or its
 * database, ahead of a large upload): the connection closes after it, so the server reads no
 * more of that body than the lingering close allows, instead of all of it.
 */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  // `complete` alone would not do: a request without a body is not complete yet either while
  // the app answers it in the same tick as its headers arrived.
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.complete && !res.headersSent) res.setHeader('Connection', 'close');
}
