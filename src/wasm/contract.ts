/**
 * Where the component contract lives. The WIT package in `wit/` is the only definition of it;
 * everything else (the generated declarations in ./generated, the validation of uploads) is
 * derived from that file.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The worlds of `factum:component` a component can target. */
export type ComponentWorld = 'state-view' | 'state-change';
export const COMPONENT_WORLDS: readonly ComponentWorld[] = ['state-view', 'state-change'];

/** The package is a single file so that tools taking WIT as text (not as a path) can use it. */
export const WIT_FILE = fileURLToPath(new URL('../../wit/factum.wit', import.meta.url));
export const WIT_PACKAGE = 'factum:component@0.1.0';

let witText: Promise<string> | undefined;

export function readWit(): Promise<string> {
  if (!witText) {
    witText = readFile(WIT_FILE, 'utf8');
    witText.catch(() => (witText = undefined));
  }
  return witText;
}
