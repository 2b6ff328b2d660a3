/**
 * What the use cases need from a component runtime. `ComponentHost` implements it with jco and
 * worker threads; the use cases see only this interface, so they can be run with another
 * runtime (or a test double) without knowing how components are executed.
 */
import type { StoredEvent } from '../core/events.ts';
import type { ComponentWorld } from './contract.ts';
import type { CommandInput, Decision, Rejection, ViewState } from './decisions.ts';
import type { ViewParams } from './events.ts';

export type DecideOutcome = { ok: true; decision: Decision } | { ok: false; rejection: Rejection };

export interface ComponentRuntime {
  /**
   * Validates `bytes` as a component of `world` and makes it callable under `key`. Throws
   * InvalidArgumentError, saying why, for anything that is not an acceptable component.
   */
  prepare(key: string, bytes: Uint8Array, world: ComponentWorld): Promise<unknown>;
  /** Whether `key` is prepared (and callable without `prepare`). */
  has(key: string): boolean;
  /** Forgets `key` and frees what it holds. */
  release(key: string): void;

  /** The state-view world. */
  initialState(key: string, params?: ViewParams): Promise<Uint8Array>;
  evolve(key: string, state: Uint8Array, events: readonly StoredEvent[], params?: ViewParams): Promise<Uint8Array>;
  render(key: string, state: Uint8Array, params?: ViewParams): Promise<Uint8Array>;

  /** The state-change world. */
  decide(key: string, command: CommandInput, views: ViewState[]): Promise<DecideOutcome>;

  close(): Promise<void>;
}
