/**
 * 4. Rendering the order-summary state view at the latest revision of a large database after
 *    10 new events (incremental: from the snapshot of the previous render) against a cold
 *    render of a newly uploaded version (from no snapshot: every selected event evolved).
 *    The view selects one event type, OrderCreated, which is 1 event in VIEW_EVERY.
 */
import { readFile } from 'node:fs/promises';
import { buildExample } from '../../wasm-examples/build.ts';
import { DATABASE, median, progress, type BenchContext } from '../lib/context.ts';
import { batchBody, newOrderJson, VIEW_EVERY, VIEW_TYPE } from '../lib/events.ts';
import { postJson, request } from '../lib/load.ts';
import { startFactum } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

const VIEW = 'order-summary';
const NEW_EVENTS = 10;

export async function stateViewRender(ctx: BenchContext): Promise<Row[]> {
  const { largeEvents, quick } = ctx.options;
  const coldRuns = quick ? 1 : 3;
  const incrementalRuns = quick ? 5 : 15;
  const wasm = await readFile(await buildExample(VIEW));
  const large = await ctx.datasets.get(largeEvents);
  const server = await startFactum(large.dataDir);
  try {
    const base = `${server.url}/databases/${DATABASE}`;
    const upload = async () => {
      const form = new FormData();
      const metadata = { state_view_name: VIEW, content_type: 'application/json', event_selector: { event_type: VIEW_TYPE }, query_temporality: 'revision' };
      form.append('metadata', JSON.stringify(metadata));
      form.append('wasm', new Blob([wasm], { type: 'application/wasm' }), 'view.wasm');
      await request(`${base}/state-views`, { method: 'POST', body: form });
    };
    const render = async () => {
      const started = performance.now();
      const reply = await request(`${base}/state-views/${VIEW}`);
      const ms = performance.now() - started;
      return { ms, evolved: Number(reply.headers.get('factum-evolved-events')), revision: Number(reply.headers.get('factum-revision')), content: reply.text };
    };

    progress(`4: first render of ${VIEW} in ${largeEvents.toLocaleString('en-US')} events (loads the component)`);
    await upload();
    const first = await render();
    const selected = first.evolved;
    if (selected === 0) throw new Error('the view selected no events');

    const cold: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      progress(`4: cold render ${i + 1}/${coldRuns} (new version: evolves ${selected.toLocaleString('en-US')} events)`);
      await upload();
      const r = await render();
      if (r.evolved !== selected || r.content !== first.content) throw new Error(`a cold render evolved ${r.evolved} events (expected ${selected}) or rendered other content`);
      cold.push(r.ms);
    }

    progress(`4: ${incrementalRuns} incremental renders after ${NEW_EVENTS} new events each`);
    const incremental: number[] = [];
    let n = 0;
    for (let i = 0; i < incrementalRuns; i++) {
      const events: string[] = [];
      for (let k = 0; k < NEW_EVENTS; k++) events.push(newOrderJson('view', n++));
      await postJson(`${base}/events`, batchBody(events));
      const r = await render();
      if (r.evolved !== NEW_EVENTS) throw new Error(`an incremental render evolved ${r.evolved} events, expected ${NEW_EVENTS}`);
      incremental.push(r.ms);
    }

    const incrementalMs = median(incremental);
    const coldMs = median(cold);
    const rendered = JSON.parse(first.content) as { total_orders: number };
    return [
      {
        id: '4',
        what: `state view render after ${NEW_EVENTS} new events (incremental), ${largeEvents.toLocaleString('en-US')} events`,
        result: { value: incrementalMs, unit: 'ms' },
        baseline: { what: 'cold render (new version)', value: coldMs, unit: 'ms' },
        ratio: ratio(incrementalMs, coldMs),
        target: '< 50 ms',
        met: incrementalMs < 50,
        notes: `order-summary selects ${VIEW_TYPE}, 1 event in ${VIEW_EVERY} (${selected.toLocaleString('en-US')} events, ${rendered.total_orders.toLocaleString('en-US')} orders in its state); medians of ${incrementalRuns} incremental (max ${Math.max(...incremental).toFixed(0)} ms) and ${coldRuns} cold renders, HTTP round trip included`,
      },
    ];
  } finally {
    await server.stop();
  }
}
