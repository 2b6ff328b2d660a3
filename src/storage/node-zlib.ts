/**
 * `zlib.crc32` arrived in Node 20.15; @types/node for Node 20 may not declare it yet.
 */
import * as nodeZlib from 'node:zlib';

export const zlib = nodeZlib as typeof nodeZlib & {
  crc32(data: string | Uint8Array, value?: number): number;
};
