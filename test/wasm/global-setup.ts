/**
 * Optional vitest global setup: builds every component the wasm tests use before any test file
 * starts, one after the other. Without it each test file builds what it needs on first use
 * (files running in parallel wait for each other through a lock), which also works.
 */
import { buildTestComponent, FIXTURE_SOURCES, type ComponentName } from './components.ts';

export default async function setup(): Promise<void> {
  const names: ComponentName[] = ['order-summary', 'customer-profile', ...(Object.keys(FIXTURE_SOURCES) as ComponentName[])];
  for (const name of names) await buildTestComponent(name);
}
