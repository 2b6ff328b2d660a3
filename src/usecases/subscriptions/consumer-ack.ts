/**
 * An ack that comes with an append (`consumer_ack`): the consumer's new position is committed in
 * the same storage transaction as the events, so a projection that appends what it derived from
 * the events up to a revision, and acknowledges that revision with them, never commits the same
 * work twice: after a crash either both are stored or neither, and a second attempt at work
 * already committed (a retry from an older position, or two instances reading as one consumer)
 * is refused whole.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../core/errors.ts';
import type { AppendCheckpoint } from '../../storage/types.ts';
import type { FactumContext } from '../context.ts';
import { checkpointKey, readPosition, requireConsumer, type ConsumerDefinition } from './consumers.ts';

export interface ConsumerAck {
  consumer: string;
  revision: number;
}

/** The consumer the ack is for; NOT_FOUND when it has none. */
export async function consumerOfAck(ctx: FactumContext, database: string, ack: ConsumerAck, eventCount: number): Promise<ConsumerDefinition> {
  if (eventCount === 0) {
    throw new InvalidArgumentError('consumer_ack needs at least one event; acknowledge without events through the consumer\'s ack', { field: 'consumer_ack' });
  }
  return requireConsumer(ctx, database, ack.consumer);
}

/**
 * The checkpoint of an ack checked at `head` (the database before the append): the revision is
 * one the database has, and past the consumer's position. The store checks the position again,
 * atomically with the write, against every checkpoint committed meanwhile.
 */
export async function ackCheckpoint(ctx: FactumContext, database: string, definition: ConsumerDefinition, ack: ConsumerAck, head: number): Promise<AppendCheckpoint> {
  if (ack.revision > head) {
    throw new InvalidArgumentError(`consumer_ack.revision ${ack.revision} is beyond the latest revision ${head}`, { field: 'consumer_ack.revision', latest_revision: head });
  }
  const { position } = await readPosition(ctx, database, definition);
  if (ack.revision <= position) throw behind(database, ack, position);
  const bytes = new TextEncoder().encode(JSON.stringify({ position: ack.revision, acked_at: ctx.now().toISOString() }));
  return { key: checkpointKey(definition), position: ack.revision, bytes };
}

/** Refuses an ack at or before the position: the work it comes with was committed already. */
export function behind(database: string, ack: ConsumerAck, position: number): FailedPreconditionError {
  return new FailedPreconditionError(
    `consumer "${ack.consumer}" is at revision ${position}: an append acknowledging revision ${ack.revision} would commit work done already, so nothing was written`,
    { database, consumer: ack.consumer, position, revision: ack.revision },
  );
}
