/** HTTP load and plain requests against a server under measurement. */
import autocannon, { type Options, type Result } from 'autocannon';

export interface LoadResult {
  /** Completed 2xx requests per second over the run. */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  requests: number;
  seconds: number;
}

/** Runs autocannon and fails on any error or non-2xx answer: a figure built on errors is no figure. */
export async function runLoad(options: Options): Promise<LoadResult> {
  const result: Result = await autocannon({ timeout: 60, ...options });
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`load on ${options.url} had ${result.errors} errors and ${result.non2xx} non-2xx answers (${JSON.stringify(result.statusCodeStats)})`);
  }
  const ok = result['2xx'];
  return {
    requestsPerSecond: ok / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMeanMs: result.latency.mean,
    requests: ok,
    seconds: result.duration,
  };
}

export async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status >= 300 && res.status !== 304) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 500)}`);
  return { status: res.status, headers: res.headers, text };
}

export function postJson(url: string, body: string): Promise<{ status: number; headers: Headers; text: string }> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}
