/**
 * Reading NDJSON input line by line with line numbers, in constant memory. Unlike readline it
 * says whether the last line ended with a newline: an export cut short ends in half a line.
 */
import type { Readable } from 'node:stream';

export interface Line {
  /** Counted from 1. */
  number: number;
  text: string;
  /** False only for a last line with no newline after it. */
  terminated: boolean;
}

export async function* readLines(input: Readable): AsyncGenerator<Line> {
  let rest = '';
  let number = 0;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    let text = rest + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end);
      yield { number: ++number, text: line.endsWith('\r') ? line.slice(0, -1) : line, terminated: true };
      start = end + 1;
    }
    rest = text.slice(start);
    text = '';
  }
  if (rest !== '') yield { number: ++number, text: rest, terminated: false };
}
