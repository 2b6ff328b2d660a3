import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildTestComponent, TRANSPILED_DIR } from './components.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/run-under-tsx.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let view: string;
let hostile: string;

beforeAll(async () => {
  view = await buildTestComponent('order-summary');
  hostile = await buildTestComponent('misbehaving-view');
}, BUILD_TIMEOUT_MS);

describe('under tsx, as the server runs', () => {
  it('runs components in workers and stops a runaway one', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, TRANSPILED_DIR, view, hostile], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const summary = { total_orders: 1, orders_by_status: { created: 1, completed: 0, cancelled: 0 }, total_revenue: 0 };
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      before: summary,
      stopped: 'ComponentTimeLimitError',
      after: summary,
    });
  });
});
