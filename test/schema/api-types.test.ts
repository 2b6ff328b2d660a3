import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_TYPES_PATH, generatedApiTypes } from '../../src/schema/generate-types.ts';

describe('generated API types', () => {
  it('match openapi.yaml (else run: npm run generate:types)', async () => {
    expect(await readFile(GENERATED_TYPES_PATH, 'utf8')).toBe(await generatedApiTypes());
  });
});
