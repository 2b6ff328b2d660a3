/**
 * The Express application: routers per resource, request validation from openapi.yaml, one
 * error mapping. It holds no state of its own; everything goes through the use cases.
 */
import { randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import cookieParser from 'cookie-parser';
import type { Logger } from 'pino';
import type { FactumContext } from '../usecases/context.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { jsonBody, plainJsonRequests } from './json-body.ts';
import { directLane } from './direct-lane.ts';
import { jsonBodyNesting } from './json-nesting.ts';
import { keepJsonBodyBytes } from './raw-json.ts';
import { databasesRouter } from './routes/databases.ts';
import { eventsRouter, eventsShortcut } from './routes/events.ts';
import { healthRouter } from './routes/health.ts';
import { PROCESS_COMMAND_PATH, processErrorHandler, stateChangesRouter } from './routes/state-changes.ts';
import { stateViewsRouter } from './routes/state-views.ts';
import { consumersRouter } from './routes/consumers.ts';
import { subscriptionsRouter } from './routes/subscriptions.ts';
import { componentsDownloadRouter } from './routes/components-download.ts';
import { importRouter } from './routes/import.ts';
import { valuesRouter } from './routes/values.ts';
import { mcpRoutes } from './mcp/server.ts';
import { consoleRouter } from './console/index.ts';
import { authorizeRequests } from './access/authorize.ts';
import { corsForAllowedOrigins, refuseOtherOrigins } from './access/origins.ts';
import { rateLimitPerCaller, type RateLimitSettings } from './access/rate-limits.ts';
import { accessRouter, type OnboardingSettings } from './routes/access.ts';
import { metricsRouter } from './routes/metrics.ts';
import { measureRequests, type AppMetrics } from './request-metrics.ts';
import { inSeries } from './middleware-series.ts';
import { logRequests } from './request-log.ts';

export interface AppOptions {
  logger: Logger;
  version: string;
  /** Largest accepted JSON body, in bytes. */
  maxBodyBytes: number;
  /** Largest accepted component upload, in bytes. */
  maxComponentBytes: number;
  /**
   * Signs the console's CSRF tokens; every server sharing the storage needs the same (the server
   * keeps one in its storage). Unset: one for this app alone.
   */
  csrfSecret?: string;
  /** Unset: requests are not counted and /metrics is 404. */
  metrics?: AppMetrics;
  /** Unset: no other origin allowed, no rate limit, no onboarding. */
  access?: {
    corsOrigins: string[];
    rateLimit: RateLimitSettings;
    onboarding: OnboardingSettings;
  };
}

const CLOSED_ACCESS: NonNullable<AppOptions['access']> = {
  corsOrigins: [],
  rateLimit: { requests: 0, windowMs: 60_000 },
  onboarding: { enabled: false, eventsQuota: 0, perHour: 0 },
};

/** The app, and the server's request listener: the direct lane (direct-lane.ts), else the app. */
export interface HttpHandler {
  app: Express;
  listener: RequestListener;
}

export function createApp(ctx: FactumContext, options: AppOptions): Express {
  return createHttpHandler(ctx, options).app;
}

export function createHttpHandler(ctx: FactumContext, options: AppOptions): HttpHandler {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Who may call what is settled before any body is read (src/http/access/).
  const access = options.access ?? CLOSED_ACCESS;
  const allowedOrigins = new Set(access.corsOrigins);
  const cors = corsForAllowedOrigins(allowedOrigins);
  const events = eventsRouter(ctx, { maxBodyBytes: options.maxBodyBytes });
  const bodyOptions = {
    limit: options.maxBodyBytes,
    // Any JSON media type is parsed; each route's schema then says which it accepts.
    type: ['application/json', 'application/*+json'],
    strict: false,
    // Appends store events from the bytes they arrived with (raw-json.ts).
    verify: keepJsonBodyBytes,
  };
  const measured = options.metrics ? [measureRequests(options.metrics)] : [];
  const requestLog = logRequests(app, options.logger);
  const authorize = authorizeRequests(ctx);
  const body = jsonBody(bodyOptions);
  const shortcut = eventsShortcut(ctx, events);
  // What every request goes through, in this order, as one layer (middleware-series.ts).
  app.use(
    inSeries([
      ...measured,
      // One short line per request: what was asked and how it ended, not every header.
      requestLog,
      // A request without an Origin is no browser's cross-origin request: CORS has nothing to add.
      (req, res, next) => (req.headers.origin === undefined ? next() : cors(req, res, next)),
      refuseOtherOrigins(allowedOrigins),
      cookieParser(),
      authorize,
      rateLimitPerCaller(access.rateLimit),
      body,
      jsonBodyNesting,
      // Appends and queries, the busiest operations by far, go straight to their handlers.
      shortcut,
    ]),
  );
  // The same for appends and queries from programs, less what they skip: see direct-lane.ts.
  const lane = directLane({
    handlers: [...measured, requestLog, authorize, body, jsonBodyNesting, shortcut],
    readsPlainJson: plainJsonRequests(bodyOptions),
    rateLimited: access.rateLimit.requests > 0,
    logger: options.logger,
  });

  app.use(healthRouter(ctx, { version: options.version, startedAt: Date.now() }));
  app.use(metricsRouter(options.metrics));
  // Before events and state views: streamed queries and live views branch off their routes.
  app.use(subscriptionsRouter(ctx));
  app.use(consumersRouter(ctx));
  app.use(accessRouter(ctx, { onboarding: access.onboarding }));
  app.use(databasesRouter(ctx));
  app.use(events);
  app.use(valuesRouter(ctx));
  app.use(stateViewsRouter(ctx, { maxComponentBytes: options.maxComponentBytes }));
  app.use(stateChangesRouter(ctx, { maxComponentBytes: options.maxComponentBytes }));
  app.use(componentsDownloadRouter(ctx));
  app.use(importRouter(ctx, { maxBodyBytes: options.maxBodyBytes, maxComponentBytes: options.maxComponentBytes }));
  app.use(mcpRoutes(ctx, { version: options.version }));
  // After the API, so its routes come first; API errors never reach the console's error page.
  app.use(consoleRouter(ctx, { version: options.version, maxComponentBytes: options.maxComponentBytes, csrfSecret: options.csrfSecret ?? randomBytes(32).toString('hex') }));

  app.use(notFoundHandler);
  app.use(PROCESS_COMMAND_PATH, processErrorHandler);
  app.use(errorHandler);
  return { app, listener: (req, res) => lane(req, res) || app(req, res) };
}
