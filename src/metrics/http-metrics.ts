/** Requests by route template and status, and their latency. */
import { Counter, Histogram, type Registry } from 'prom-client';

export function httpMetrics(registry: Registry): (method: string, route: string, status: number, seconds: number) => void {
  const registers = [registry];
  const requests = new Counter({
    name: 'factum_http_requests_total',
    help: 'HTTP requests answered, by method, route template (console and unmatched for the rest) and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'factum_http_request_duration_seconds',
    help: 'From a request reaching the app to its answer ending, by method and route template',
    labelNames: ['method', 'route'],
    registers,
  });
  // One counter increment and one histogram observation: about 2 µs a request. prom-client's
  // label children hash their labels on each call too, so caching them would save nothing.
  return (method, route, status, seconds) => {
    requests.inc({ method, route, status });
    duration.observe({ method, route }, seconds);
  };
}
