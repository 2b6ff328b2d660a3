import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPONENT_WORLDS } from '../../src/wasm/contract.ts';
import { GENERATED_DIR, generatedDeclarations } from '../../src/wasm/generate-types.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

describe('generated declarations', () => {
  it.each(COMPONENT_WORLDS)('for %s match wit/factum.wit (else run: tsx src/wasm/generate-types.ts)', async (world) => {
    const expected = await generatedDeclarations(world);
    const dir = join(GENERATED_DIR, world);
    const committed = Object.fromEntries(
      await Promise.all(
        (await filesUnder(dir)).map(async (path) => [relative(dir, path).replace(/\\/g, '/'), await readFile(path, 'utf8')]),
      ),
    );
    expect(committed).toEqual(expected);
  });
});
