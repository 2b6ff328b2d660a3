/**
 * The two kinds of uploaded component, each with the blob prefix its versions live under and
 * the WIT world it must target. A leaf module, shared by the registry, the use cases of each
 * kind and the database description.
 */
import type { ComponentWorld } from '../wasm/contract.ts';

export interface ComponentKind {
  /** Blob key prefix, e.g. `state-views/`. */
  prefix: string;
  /** For messages: "state view". */
  label: string;
  world: ComponentWorld;
}

export const STATE_VIEWS: ComponentKind = { prefix: 'state-views/', label: 'state view', world: 'state-view' };
export const STATE_CHANGES: ComponentKind = { prefix: 'state-changes/', label: 'state change', world: 'state-change' };
