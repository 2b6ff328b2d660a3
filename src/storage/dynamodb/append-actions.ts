/**
 * The actions of one commit: which of the waiting appends it takes, and the head update, event
 * puts, uniqueness puts and latest-value updates that write them. DynamoDB allows 100 actions
 * and 4 MB per transaction and one action per item, so appends join in arrival order while
 * their items fit and no two of them touch the same item.
 */
import type { CloudEvent } from '../../core/events.ts';
import type { AppendCheckpoint, AppendRequest } from '../types.ts';
import type { TransactAction } from './client.ts';
import { inScope } from './guards.ts';
import { eventActions, eventItems, eventItemsBytes, itemBytes, itemKey, type Item, MAX_TRANSACTION_ACTIONS, TRANSACTION_ITEMS_BUDGET_BYTES, type EventItems } from './items.ts';
import { A, blobSk, HEAD_SK, newBlobGeneration } from './keys.ts';
import { latestChanges, latestUpdate, latestUpdateBytes } from './latest.ts';

/** What composing needs of an append. */
export interface Joining {
  request: AppendRequest;
  alone: boolean;
}

export interface Commit<M extends Joining = Joining> {
  /** The appends it writes, in revision order. */
  members: M[];
  actions: TransactAction[];
  /** The append each uniqueness put belongs to, in action order, from action `firstKeyAction`. */
  keyOwners: M[];
  firstKeyAction: number;
  /** The head after the commit. */
  next: number;
  /** The latest-value items are written in this transaction, which moves `lt` to `next`. */
  latestInTransaction: boolean;
  /** The append each checkpoint put belongs to, in action order, from action `firstCheckpointAction`. */
  checkpointOwners: M[];
  firstCheckpointAction: number;
}

interface Taken<M> {
  member: M;
  built: EventItems[];
}

/**
 * The commit of as many of `candidates` as fit, after `head`. The latest-value items go in the
 * transaction only when they account for everything before it (`latestThrough` = `head`);
 * then the group is kept small enough for them to fit, as long as one append remains.
 */
export function composeCommit<M extends Joining>(tableName: string, dbId: string, candidates: readonly M[], head: number, latestThrough: number): Commit<M> {
  const taken = take(dbId, candidates, head);
  let changes = latestThrough === head ? latestChanges(staged(taken)) : undefined;
  while (changes && !latestFits(dbId, taken, changes)) {
    if (taken.length === 1) changes = undefined;
    else {
      taken.pop();
      changes = latestChanges(staged(taken));
    }
  }
  const built = taken.flatMap((t) => t.built);
  const next = head + built.length;
  const actions: TransactAction[] = [
    {
      Update: {
        TableName: tableName,
        Key: itemKey(dbId, HEAD_SK),
        // `lt` moves with the head only when the items move in the same transaction.
        UpdateExpression: changes ? 'SET #head = :next, #lt = :next' : 'SET #head = :next',
        ConditionExpression: changes ? '#head = :head AND #lt = :head' : '#head = :head',
        ExpressionAttributeNames: { '#head': A.head, ...(changes ? { '#lt': A.latestThrough } : {}) },
        ExpressionAttributeValues: { ':head': head, ':next': next },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    // The head condition already rules out existing events; their own condition guards against bugs only.
    ...built.map(({ event }): TransactAction => ({ Put: { TableName: tableName, Item: event, ...absent } })),
    ...built.map(({ key }): TransactAction => ({ Put: { TableName: tableName, Item: key, ...absent, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } })),
    ...[...(changes ?? [])].map(([sk, revisions]) => latestUpdate(tableName, dbId, sk, revisions, 'in-order')),
    // Extension index items last, so the positions of the actions above stay as they were.
    ...built.flatMap(({ extensions }) => extensions.map((item): TransactAction => ({ Put: { TableName: tableName, Item: item } }))),
  ];
  const checkpointOwners = taken.filter((t) => t.member.request.checkpoint).map((t) => t.member);
  const firstCheckpointAction = actions.length;
  actions.push(...checkpointOwners.map((m) => checkpointPut(tableName, dbId, m.request.checkpoint!)));
  return {
    members: taken.map((t) => t.member),
    actions,
    keyOwners: taken.flatMap((t) => t.built.map(() => t.member)),
    firstKeyAction: 1 + built.length,
    next,
    latestInTransaction: changes !== undefined,
    checkpointOwners,
    firstCheckpointAction,
  };
}

/**
 * A checkpoint is an inline blob item that also holds its position, put on the condition that
 * the one it replaces (if any) holds a lower one: forward only, in the events' transaction.
 */
function checkpointPut(tableName: string, dbId: string, checkpoint: AppendCheckpoint): TransactAction {
  return {
    Put: {
      TableName: tableName,
      Item: checkpointItem(dbId, checkpoint),
      ConditionExpression: 'attribute_not_exists(#pk) OR #cp < :cp',
      ExpressionAttributeNames: { '#pk': A.pk, '#cp': A.checkpointPosition },
      ExpressionAttributeValues: { ':cp': checkpoint.position },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

function checkpointItem(dbId: string, checkpoint: AppendCheckpoint): Item {
  return {
    ...itemKey(dbId, blobSk(checkpoint.key)),
    [A.size]: checkpoint.bytes.byteLength,
    [A.chunks]: 0,
    [A.generation]: newBlobGeneration(),
    [A.data]: Uint8Array.from(checkpoint.bytes),
    [A.checkpointPosition]: checkpoint.position,
  };
}

/** The actions and bytes an append's checkpoint adds to a transaction. */
function checkpointCost(dbId: string, request: AppendRequest): { actions: number; bytes: number } {
  return request.checkpoint ? { actions: 1, bytes: itemBytes(checkpointItem(dbId, request.checkpoint)) } : { actions: 0, bytes: 0 };
}

const absent = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } };

/**
 * The candidates, in order, while their events and uniqueness items fit one transaction. A
 * candidate that touches an item an earlier one writes (the same source + id), whose guard an
 * earlier one's events break, or that must go alone ends the group: it waits for the next one.
 */
function take<M extends Joining>(dbId: string, candidates: readonly M[], head: number): Array<Taken<M>> {
  const committedAt = Date.now();
  const taken: Array<Taken<M>> = [];
  const keys = new Set<string>();
  let events = 0;
  let actions = 1;
  let bytes = 0;
  for (const member of candidates) {
    const { events: own, recordedtime, guard, checkpoint, maxRevision } = member.request;
    const built = own.map((event, i) => eventItems(dbId, event, head + events + 1 + i, recordedtime, committedAt));
    const extra = checkpointCost(dbId, member.request);
    const size = built.reduce((n, b) => n + eventItemsBytes(b), extra.bytes);
    const ownActions = built.reduce((n, b) => n + eventActions(b), extra.actions);
    if (taken.length > 0) {
      if (member.alone || taken[0]!.member.alone) break;
      // Behind the others its limit may be passed where alone it is not: it goes first next time.
      if (maxRevision !== undefined && head + events + own.length > maxRevision) break;
      if (checkpoint && taken.some((t) => t.member.request.checkpoint?.key === checkpoint.key)) break;
      if (actions + ownActions > MAX_TRANSACTION_ACTIONS || bytes + size > TRANSACTION_ITEMS_BUDGET_BYTES) break;
      if (built.some((b) => keys.has(b.key[A.sk] as string))) break;
      if (guard && taken.some((t) => t.member.request.events.some((event) => inScope(guard, event)))) break;
    }
    taken.push({ member, built });
    for (const b of built) keys.add(b.key[A.sk] as string);
    events += own.length;
    actions += ownActions;
    bytes += size;
  }
  return taken;
}

function staged<M extends Joining>(taken: ReadonlyArray<Taken<M>>): Array<{ event: CloudEvent; revision: number }> {
  return taken.flatMap((t) => t.member.request.events.map((event, i) => ({ event, revision: t.built[i]!.event[A.revision] as number })));
}

function latestFits<M extends Joining>(dbId: string, taken: ReadonlyArray<Taken<M>>, changes: Map<string, number[]>): boolean {
  const built = taken.flatMap((t) => t.built);
  const extras = taken.map((t) => checkpointCost(dbId, t.member.request));
  if (built.reduce((n, b) => n + eventActions(b), 1) + extras.reduce((n, e) => n + e.actions, 0) + changes.size > MAX_TRANSACTION_ACTIONS) return false;
  let bytes = built.reduce((n, b) => n + eventItemsBytes(b), extras.reduce((n, e) => n + e.bytes, 0));
  for (const sk of changes.keys()) bytes += latestUpdateBytes(dbId, sk);
  return bytes <= TRANSACTION_ITEMS_BUDGET_BYTES;
}
