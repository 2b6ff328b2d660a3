/**
 * Series per database only when the operator asks for them: a database name is chosen by
 * clients, so by default no metric carries one and the number of series stays fixed.
 */
import type { Counter, Gauge } from 'prom-client';

export const DATABASE_LABEL = ['database'] as const;

/** The label names of a per-database metric under the setting. */
export function databaseLabelNames(databaseLabels: boolean): string[] {
  return databaseLabels ? [...DATABASE_LABEL] : [];
}

/** Adds to a per-database counter, by database only when the setting asks for it. */
export function incPerDatabase(counter: Counter, databaseLabels: boolean, database: string, amount: number): void {
  if (databaseLabels) counter.inc({ database }, amount);
  else counter.inc(amount);
}

/** Sets a per-database gauge, by database only when the setting asks for it. */
export function setPerDatabase(gauge: Gauge, databaseLabels: boolean, database: string, value: number): void {
  if (databaseLabels) gauge.set({ database }, value);
  else gauge.set(value);
}
