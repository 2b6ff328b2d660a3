/**
 * The checks every index-backed adapter makes atomically with a write: the append guard and
 * source + id uniqueness. "Staged" events are those accepted earlier in the same group commit
 * but not yet in the index (they become visible only once durable).
 */
import { eventKey, storedTextJson, type CloudEvent, type RawEvent, type StoredEventText } from '../core/events.ts';
import { matchesSelector } from '../core/selectors.ts';
import type { EventIndex } from './event-index.ts';
import { assertBlobKey, CHECKPOINT_MAX_BYTES, type AppendOutcome, type AppendRequest } from './types.ts';

export interface StagedEvent {
  revision: number;
  event: CloudEvent;
  /** Its stored form; made a string only when a later event of the round repeats its key. */
  text: StoredEventText;
  recordedtime: string;
}

/**
 * The events staged so far in one group commit, in revision order, also by source + id: every
 * event of every later request in the round is looked up here, and a round can hold thousands.
 * The lookup map is brought up to date only when a lookup needs it, so the last request of a
 * round (often the only one) never pays for it.
 */
export class StagedEvents {
  readonly events: StagedEvent[] = [];
  readonly #byKey = new Map<string, StagedEvent>();
  #mapped = 0;

  get length(): number {
    return this.events.length;
  }

  push(staged: StagedEvent): void {
    this.events.push(staged);
  }

  byKey(key: string): StagedEvent | undefined {
    for (; this.#mapped < this.events.length; this.#mapped++) {
      const staged = this.events[this.#mapped]!;
      this.#byKey.set(eventKey(staged.event), staged);
    }
    return this.#byKey.get(key);
  }
}

export async function checkAppend(
  index: EventIndex,
  request: AppendRequest,
  staged: StagedEvents,
  readIndexed: (revision: number) => Promise<RawEvent | undefined>,
): Promise<Exclude<AppendOutcome, { kind: 'appended' }> | undefined> {
  const head = index.head + staged.length;
  const { guard } = request;
  if (guard && guard.basis < head) {
    for (const scope of guard.scopes) {
      const indexedHit = index.scan({ selector: scope, fromRevision: guard.basis + 1, toRevision: index.head, direction: 'forward' }).next();
      const stagedHit = staged.events.some((s) => s.revision > guard.basis && (!scope || matchesSelector(scope, s.event)));
      if (!indexedHit.done || stagedHit) return { kind: 'guard_failed', head };
    }
  }

  let anyDuplicate = false;
  const existing: Array<RawEvent | undefined> = [];
  for (const event of request.events) {
    const found = mayBeStored(index, event, staged) ? await findByKey(index, event, staged, readIndexed) : undefined;
    if (found) anyDuplicate = true;
    existing.push(found);
  }
  return anyDuplicate ? { kind: 'duplicates', existing } : undefined;
}

/**
 * The append's own bounds at `head` (staged events included): its quota, and that its checkpoint
 * moves forward from `storedPosition`, the position of the checkpoint under its key (undefined:
 * none). Checked, like the others, atomically with the write.
 */
export function checkBounds(
  request: AppendRequest,
  head: number,
  storedPosition: number | undefined,
): Extract<AppendOutcome, { kind: 'limit_exceeded' | 'checkpoint_behind' }> | undefined {
  if (request.maxRevision !== undefined && head + request.events.length > request.maxRevision) return { kind: 'limit_exceeded', head };
  if (request.checkpoint && storedPosition !== undefined && storedPosition >= request.checkpoint.position) {
    return { kind: 'checkpoint_behind', position: storedPosition };
  }
  return undefined;
}

/** Refuses checkpoints no adapter could store in one transaction; the caller's mistake, not the data's. */
export function assertCheckpoint(request: AppendRequest): void {
  const { checkpoint } = request;
  if (!checkpoint) return;
  assertBlobKey(checkpoint.key);
  if (request.events.length === 0) throw new Error('a checkpoint is written with events only');
  if (checkpoint.bytes.byteLength > CHECKPOINT_MAX_BYTES) throw new Error(`checkpoint "${checkpoint.key}" is over ${CHECKPOINT_MAX_BYTES} bytes`);
  if (!Number.isSafeInteger(checkpoint.position) || checkpoint.position < 0) throw new Error(`checkpoint position ${checkpoint.position} is not a revision`);
}

/**
 * False when no event with this source and id is stored or staged: the usual answer, given
 * without reading anything (true only means findByKey has to look).
 */
export function mayBeStored(index: EventIndex, event: Pick<CloudEvent, 'source' | 'id'>, staged: StagedEvents): boolean {
  return index.candidatesForKey(event.source, event.id).length > 0 || (staged.length > 0 && staged.byKey(eventKey(event)) !== undefined);
}

export async function findByKey(
  index: EventIndex,
  event: Pick<CloudEvent, 'source' | 'id'>,
  staged: StagedEvents,
  readIndexed: (revision: number) => Promise<RawEvent | undefined>,
): Promise<RawEvent | undefined> {
  for (const revision of index.candidatesForKey(event.source, event.id)) {
    const raw = await readIndexed(revision);
    if (!raw) continue;
    const stored = JSON.parse(raw.json) as CloudEvent;
    if (stored.source === event.source && stored.id === event.id) return raw;
  }
  const hit = staged.byKey(eventKey(event));
  return hit && { revision: hit.revision, json: storedTextJson(hit.text) };
}
