/**
 * Extension attributes in the event index. An event carries any number of them and most events
 * none of a given name, so each name gets a sparse column: the ascending revisions that carry
 * it with their value ids (8 bytes per event that has it, none for the others), beside a
 * dictionary with posting lists like those of the built-in attributes.
 */
import { lowerBound } from './cursors.ts';
import { GrowableUint32 } from './growable.ts';
import { AttributeDictionary } from './posting-lists.ts';

/** A column as plain arrays: `ids[i]` is the value (position in `values` + 1) of revision `revisions[i]`. */
export interface ExtensionColumnState {
  values: string[];
  revisions: Uint32Array;
  ids: Uint32Array;
}

export class ExtensionColumn {
  readonly dict = new AttributeDictionary();
  readonly revisions = new GrowableUint32();
  readonly ids = new GrowableUint32();

  /** Revisions must come in ascending order; an event has each of its attribute names once. */
  add(value: string, revision: number): void {
    this.ids.push(this.dict.add(value, revision));
    this.revisions.push(revision);
  }

  /** The value at `revision`, or undefined when that event does not carry this extension. */
  valueAt(revision: number): string | undefined {
    const count = this.revisions.length;
    const pos = lowerBound(this.revisions.buf, 0, count, revision);
    return pos < count && this.revisions.buf[pos] === revision ? this.dict.values[this.ids.buf[pos]!] : undefined;
  }

  /** Views of the arrays, not copies: entries already written never change. */
  exportState(): ExtensionColumnState {
    return { values: this.dict.values.slice(1), revisions: this.revisions.buf.subarray(0, this.revisions.length), ids: this.ids.buf.subarray(0, this.ids.length) };
  }

  /** A column from persisted arrays, which it takes over. */
  static fromState(state: ExtensionColumnState, name: string): ExtensionColumn {
    if (state.revisions.length !== state.ids.length) throw new Error(`index state of extension ${name} has ${state.revisions.length} revisions for ${state.ids.length} values`);
    const column = new ExtensionColumn();
    for (const value of state.values) column.dict.addValue(value);
    column.revisions.buf = state.revisions;
    column.revisions.length = state.revisions.length;
    column.ids.buf = state.ids;
    column.ids.length = state.ids.length;
    column.dict.postings.restore(state.ids, `extension ${name}`, state.revisions);
    return column;
  }
}
