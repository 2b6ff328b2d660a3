/**
 * What an uploaded component must be before Factum will run it:
 * - a WebAssembly component (not a core module, not anything else);
 * - self-contained: it imports nothing at all. No WASI, no host functions: the arguments of a
 *   call are its only inputs and its return value its only output, which is what makes it safe
 *   to run untrusted and what lets the host snapshot and replay views;
 * - an implementation of exactly one world of the contract (see wit/factum.wit), with the same
 *   functions and types.
 * Every refusal is an InvalidArgumentError saying which rule was broken.
 */
import { InvalidArgumentError } from '../core/errors.ts';
import { WIT_PACKAGE, type ComponentWorld } from './contract.ts';
import { declarationFiles, transpileComponent, transpileWorld, type TranspiledComponent } from './transpile.ts';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export type WasmBinaryKind = 'component' | 'core-module' | 'unknown';

/**
 * Tells the two kinds of WebAssembly binary apart by their preamble: a magic number, then a
 * 16-bit version and a 16-bit layer (0 for core modules, 1 for components).
 */
export function wasmBinaryKind(bytes: Uint8Array): WasmBinaryKind {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) return 'unknown';
  const layer = bytes[6]! | (bytes[7]! << 8);
  if (layer === 0) return 'core-module';
  if (layer === 1) return 'component';
  return 'unknown';
}

/** Cheap checks that need no transpiling. */
export function assertComponentBinary(bytes: Uint8Array): void {
  switch (wasmBinaryKind(bytes)) {
    case 'component':
      return;
    case 'core-module':
      throw new InvalidArgumentError(
        'the file is a core WebAssembly module, not a WebAssembly component: build it as a component for ' +
          WIT_PACKAGE,
        { reason: 'not_a_component' },
      );
    case 'unknown':
      throw new InvalidArgumentError('the file is not a WebAssembly component (no component preamble)', {
        reason: 'not_a_component',
      });
  }
}

/**
 * Validates component bytes against a world and returns them transpiled, so that a caller who
 * goes on to run the component does not transpile twice.
 */
export async function validateComponent(bytes: Uint8Array, world: ComponentWorld): Promise<TranspiledComponent> {
  assertComponentBinary(bytes);
  let component: TranspiledComponent;
  try {
    component = await transpileComponent(bytes);
  } catch (err) {
    throw new InvalidArgumentError(`the file is not a valid WebAssembly component: ${firstLine(err)}`, {
      reason: 'not_a_component',
    });
  }
  assertSelfContained(component);
  assertImplementsWorld(component, await transpileWorld(world), world);
  return component;
}

export function validateStateView(bytes: Uint8Array): Promise<TranspiledComponent> {
  return validateComponent(bytes, 'state-view');
}

export function validateStateChange(bytes: Uint8Array): Promise<TranspiledComponent> {
  return validateComponent(bytes, 'state-change');
}

function assertSelfContained(component: TranspiledComponent): void {
  if (component.imports.length === 0) return;
  const wasi = component.imports.some((name) => name.startsWith('wasi:'));
  throw new InvalidArgumentError(
    `the component imports ${listed(component.imports)}; components must import nothing` +
      (wasi ? ' (build it with every WASI feature disabled)' : ''),
    { reason: 'has_imports', imports: component.imports },
  );
}

function assertImplementsWorld(
  component: TranspiledComponent,
  reference: TranspiledComponent,
  world: ComponentWorld,
): void {
  const names = (c: TranspiledComponent) => c.exports.map(([name]) => name);
  const expected = names(reference);
  const actual = names(component);
  const missing = expected.filter((name) => !actual.includes(name));
  const extra = actual.filter((name) => !expected.includes(name));
  const target = `the ${world} world of ${WIT_PACKAGE}`;
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `does not export ${listed(missing.map(witName))}` : '',
      extra.length > 0 ? `exports ${listed(extra.map(witName))} which the world does not have` : '',
    ].filter(Boolean);
    throw new InvalidArgumentError(`the component ${parts.join(' and ')}: it must implement ${target}`, {
      reason: 'wrong_world',
      world,
      missing_exports: missing.map(witName),
      unexpected_exports: extra.map(witName),
    });
  }
  // Same names, but the types may still differ. jco's declarations render every parameter,
  // result, record field and enum case, so identical declarations mean an identical interface.
  const expectedTypes = normalisedDeclarations(reference);
  const actualTypes = normalisedDeclarations(component);
  if (Object.keys(expectedTypes).length === 0) {
    // Fail closed: without declarations nothing below would be compared.
    throw new Error('jco produced no declarations for the world; cannot check component types');
  }
  const differing = [...new Set([...Object.keys(expectedTypes), ...Object.keys(actualTypes)])].filter(
    (file) => expectedTypes[file] !== actualTypes[file],
  );
  if (differing.length > 0) {
    throw new InvalidArgumentError(
      `the component's function or type signatures differ from ${target} (was it built from another version of the WIT?)`,
      { reason: 'wrong_world', world },
    );
  }
}

/** Declarations without comments or layout, which carry documentation but no meaning. */
function normalisedDeclarations(component: TranspiledComponent): Record<string, string> {
  return Object.fromEntries(
    Object.entries(declarationFiles(component)).map(([name, text]) => [
      name,
      text
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/[^\n]*/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    ]),
  );
}

/** jco names exports in camelCase; WIT names them in kebab-case. */
function witName(jsName: string): string {
  return jsName.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}
