/** Request bodies written by hand, byte for byte, so they can be broken on purpose. */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

export interface Part {
  name: string;
  value: Buffer | string;
  /** Makes it a file part. */
  filename?: string;
  contentType?: string;
  /** Extra header lines of the part, as written. */
  extraHeaders?: string[];
}

/** A multipart/form-data body; `boundary` goes in the Content-Type as `boundary=<boundary>`. */
export function multipartBody(boundary: string, parts: Part[], { close = true } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `Content-Disposition: form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const lines = [disposition, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : []), ...(part.extraHeaders ?? [])];
    chunks.push(Buffer.from(`--${boundary}\r\n${lines.join('\r\n')}\r\n\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export const MULTIPART_BOUNDARY = 'fuzz-boundary-7f3a';
export const multipartType = (boundary = MULTIPART_BOUNDARY) => `multipart/form-data; boundary=${boundary}`;

/** A form body as browsers send it (`application/x-www-form-urlencoded`). */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** JSON of `depth` nested arrays around `inner` (no recursion, so any depth can be written). */
export function nestedArrays(depth: number, inner = ''): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}

/** A query selector of `depth` nested `and`s around one field selector. */
export function nestedSelector(depth: number): string {
  return `${'{"type":"and","selectors":['.repeat(depth)}{"subject":"x"}${']}'.repeat(depth)}`;
}

/** The body compressed as the named Content-Encoding says. */
export function encodeBody(encoding: 'gzip' | 'deflate' | 'br', body: Buffer | string): Buffer {
  const bytes = Buffer.from(body);
  return encoding === 'gzip' ? gzipSync(bytes) : encoding === 'deflate' ? deflateSync(bytes) : brotliCompressSync(bytes);
}
