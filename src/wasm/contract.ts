/**
 * Where the component contract lives. The WIT package in `wit/` is the only definition of it;
 * everything else is derived from that file: the generated declarations in ./generated (record
 * and enum types), and here the package name and the worlds, read from the file itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package is a single file so that tools taking WIT as text (not as a path) can use it. */
export const WIT_FILE = fileURLToPath(new URL('../../wit/factum.wit', import.meta.url));

const witText = readFileSync(WIT_FILE, 'utf8');

/** `factum:component@0.1.0`, as the WIT file's `package` declaration names it. */
export const WIT_PACKAGE = /^\s*package\s+([^;\s]+)\s*;/m.exec(witText)?.[1] ?? missing('a package declaration');

/**
 * The worlds of the package a component can target. The union type is what the host code is
 * written against; the list is read from the WIT, and the two must agree (checked on load, so
 * a world added to the WIT without host support fails at once, not at the first upload).
 */
export type ComponentWorld = 'state-view' | 'state-change';
export const COMPONENT_WORLDS = [...witText.matchAll(/^\s*world\s+([a-z][a-z0-9-]*)\s*\{/gm)].map((m) => m[1]!) as ComponentWorld[];
const HOST_WORLDS: Record<ComponentWorld, true> = { 'state-view': true, 'state-change': true };
if (COMPONENT_WORLDS.length !== Object.keys(HOST_WORLDS).length || !COMPONENT_WORLDS.every((w) => w in HOST_WORLDS)) {
  throw new Error(`${WIT_FILE} declares the worlds ${COMPONENT_WORLDS.join(', ')}; the host supports ${Object.keys(HOST_WORLDS).join(', ')}`);
}

/** The WIT as text (the file is read once, when this module loads). */
export function readWit(): Promise<string> {
  return Promise.resolve(witText);
}

function missing(what: string): never {
  throw new Error(`${WIT_FILE} has no ${what}`);
}
