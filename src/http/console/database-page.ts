/** What a database's page shows: its numbers, recent events, state views and state changes. */
import type { FactumContext } from '../../usecases/context.ts';
import { describeDatabase } from '../../usecases/databases.ts';
import { queryEvents } from '../../usecases/query-events.ts';
import { listStateChanges } from '../../usecases/state-changes.ts';
import { listStateViews, stateViewSummary, type StateViewSummary, type StateViewVersion } from '../../usecases/state-views.ts';
import { emptyChangeForm, emptyViewForm } from './component-forms.ts';
import { toEventView } from './event-view.ts';
import { consumersSection } from './live.ts';
import { canonicalQuery, emptyQueryForm } from './query-form.ts';

const RECENT_EVENTS = 10;

export interface ViewSummaryView extends StateViewSummary {
  byEffectiveTime: boolean;
}

export function toViewSummary(v: StateViewSummary | StateViewVersion): ViewSummaryView {
  const summary = 'state_view_name' in v ? stateViewSummary(v) : v;
  return { ...summary, byEffectiveTime: summary.query_temporality === 'effective_timestamp' };
}

async function componentLists(ctx: FactumContext, database: string) {
  const [views, changes] = await Promise.all([listStateViews(ctx, database), listStateChanges(ctx, database)]);
  return { stateViews: views.map(toViewSummary), stateChanges: changes };
}

/** The most recent events, newest first, and the query that shows them all. */
export async function recentEvents(ctx: FactumContext, database: string) {
  const recent = await queryEvents(ctx, database, { direction: 'backward', limit: RECENT_EVENTS });
  return { events: recent.events.map(toEventView), recentQuery: canonicalQuery({ ...emptyQueryForm(), direction: 'backward' }) };
}

/** What the database page needs; `extra` carries a form's values, its error or a notice. */
export async function databasePage(ctx: FactumContext, name: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const db = await describeDatabase(ctx, name);
  const [recent, components, consumers] = await Promise.all([recentEvents(ctx, db.name), componentLists(ctx, db.name), consumersSection(ctx, db.name)]);
  return { title: db.name, db, ...recent, ...components, ...consumers, viewForm: emptyViewForm(), changeForm: emptyChangeForm(), ...extra };
}

/**
 * A section of the database page redrawn after a change (state views or state changes), with
 * the page's numbers out of band.
 */
export async function sectionContext(ctx: FactumContext, database: string, extra: Record<string, unknown>): Promise<Record<string, unknown>> {
  const db = await describeDatabase(ctx, database);
  const components = await componentLists(ctx, db.name);
  return { db, ...components, viewForm: emptyViewForm(), changeForm: emptyChangeForm(), oob: true, ...extra };
}
