/**
 * Requests Node's HTTP parser refuses before any route sees them: a space or NUL in the request
 * target, two Content-Length headers, a bad chunk size, headers over the size limit, an Expect
 * other than 100-continue, a CONNECT. Node answers those with an empty body (CONNECT with none
 * at all) and closes at once, which resets the connection if the client is still sending (the
 * rest of a 70 KB header). Here they get the API's error shape with a fitting status and
 * `Connection: close`, and a lingering close (./lingering-close.ts).
 */
import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../core/errors.ts';
import { errorBody } from './errors.ts';
import { lingeringClose } from './lingering-close.ts';

/** An error of Node's HTTP parser (llhttp): `code` names it, `reason` says it in words. */
interface ParserError extends Error {
  code?: string;
  reason?: string;
}

/** A refusal as written on the socket. */
interface RawAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** Answers the server's parser refusals and unmet expectations as described above. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: ParserError, socket: Duplex) => {
    // The parser goes on reading a socket it gave up on, and reports each further chunk again:
    // once our side has ended, the lingering close has it.
    if (socket.writableEnded) return;
    // Node's own rule: nothing may follow a response that has begun on this socket.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.write(rawAnswer(parserRefusal(error)));
    lingeringClose(socket);
  });
  // Node hands CONNECT (a proxy's tunnel) to 'connect' and, with no listener, drops the
  // connection unanswered. This server is no proxy: no route, as for any other unknown method.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const message = `no route for CONNECT ${req.url}`;
    socket.write(rawAnswer({ status: 404, code: 'NOT_FOUND', message, details: { method: 'CONNECT', path: req.url } }));
    lingeringClose(socket);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(
      errorBody({
        code: 'INVALID_ARGUMENT',
        message: `Expect "${req.headers.expect}" cannot be met: the only expectation this server knows is 100-continue`,
        details: { field: 'expect', value: req.headers.expect },
      }),
    );
    // Closed after the answer (lingering, like every close of this server): the body the client
    // may send anyway is for no one.
    res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  });
}

/** What a parser error is, for the client: 431 and 413 for limits, 408 for time, else 400. */
export function parserRefusal(error: ParserError): RawAnswer {
  const reason = error.code ?? 'unknown';
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'PAYLOAD_TOO_LARGE', message: `the request's headers are over the limit of ${maxHeaderSize} bytes`, details: { reason, limit: maxHeaderSize } };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'the chunk extensions of the request body are over the size limit', details: { reason } };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'RESOURCE_EXHAUSTED', message: 'the request was not received in time', details: { reason } };
    default:
      // llhttp's reason describes the request ("Invalid method encountered", "Duplicate
      // Content-Length"), not the server, so it is shown.
      return { status: 400, code: 'INVALID_ARGUMENT', message: `the request is not valid HTTP/1.1: ${error.reason ?? error.message}`, details: { reason } };
  }
}

/** A whole HTTP response for a socket no ServerResponse can answer: the JSON error, then close. */
function rawAnswer({ status, ...failure }: RawAnswer): string {
  const body = JSON.stringify(errorBody(failure));
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A request line without a version is HTTP/0.9, which Node passes on as a request. Its answer
 * must be given at once: the parser goes on reading the connection as it would for 0.9, and with
 * some methods (PRI, the HTTP/2 preface's) gives up on it before an answer that took a moment
 * could be written. So it is refused here, before the app, in the error shape.
 */
export function refusingHttp09(app: RequestListener): RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor >= 1) return app(req, res);
    const body = JSON.stringify(errorBody({ code: 'INVALID_ARGUMENT', message: 'the request line has no HTTP version: HTTP/0.9 is not served, send HTTP/1.1', details: { reason: 'http_0_9' } }));
    res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' }).end(body);
  };
}
