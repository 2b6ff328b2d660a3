import { it } from 'vitest';
import { startSubscriptionServer } from '/work/main/test/subscriptions/support/server.ts';
import { openNdjson } from '/work/main/test/subscriptions/support/frames.ts';
it('times', async () => {
  for (let i = 0; i < 3; i++) {
  let ts = await startSubscriptionServer({ storage: 'memory' }, {});
  await ts.client.post('/databases', { name: 'x' });
  const s = await openNdjson(`${ts.url}/databases/x/subscriptions`);
  await s.until((f) => f.type === 'caught_up');
  s.close();
  await new Promise((r) => setTimeout(r, 50));
  let t = Date.now();
  await ts.close();
  console.log('close', Date.now() - t);
  }
});
