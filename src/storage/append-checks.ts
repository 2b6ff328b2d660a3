/**
 * The checks every index-backed adapter makes atomically with a write: the append guard and
 * source + id uniqueness. "Staged" events are those accepted earlier in the same group commit
 * but not yet in the index (they become visible only once durable).
 */
import { eventKey, type CloudEvent, type RawEvent } from '../core/events.ts';
import { matchesSelector } from '../core/selectors.ts';
import type { EventIndex } from './event-index.ts';
import type { AppendOutcome, AppendRequest } from './types.ts';

export interface StagedEvent {
  revision: number;
  event: CloudEvent;
  json: string;
  recordedtime: string;
}

export async function checkAppend(
  index: EventIndex,
  request: AppendRequest,
  staged: readonly StagedEvent[],
  readIndexed: (revision: number) => Promise<RawEvent | undefined>,
): Promise<Exclude<AppendOutcome, { kind: 'appended' }> | undefined> {
  const head = index.head + staged.length;
  const { guard } = request;
  if (guard && guard.basis < head) {
    for (const scope of guard.scopes) {
      const indexedHit = index.scan({ selector: scope, fromRevision: guard.basis + 1, toRevision: index.head, direction: 'forward' }).next();
      const stagedHit = staged.some((s) => s.revision > guard.basis && (!scope || matchesSelector(scope, s.event)));
      if (!indexedHit.done || stagedHit) return { kind: 'guard_failed', head };
    }
  }

  let anyDuplicate = false;
  const existing: Array<RawEvent | undefined> = [];
  for (const event of request.events) {
    const found = await findByKey(index, event, staged, readIndexed);
    if (found) anyDuplicate = true;
    existing.push(found);
  }
  return anyDuplicate ? { kind: 'duplicates', existing } : undefined;
}

export async function findByKey(
  index: EventIndex,
  event: Pick<CloudEvent, 'source' | 'id'>,
  staged: readonly StagedEvent[],
  readIndexed: (revision: number) => Promise<RawEvent | undefined>,
): Promise<RawEvent | undefined> {
  for (const revision of index.candidatesForKey(event.source, event.id)) {
    const raw = await readIndexed(revision);
    if (!raw) continue;
    const stored = JSON.parse(raw.json) as CloudEvent;
    if (stored.source === event.source && stored.id === event.id) return raw;
  }
  const key = eventKey(event);
  const hit = staged.find((s) => eventKey(s.event) === key);
  return hit && { revision: hit.revision, json: hit.json };
}
