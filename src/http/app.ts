/**
 * The Express application: routers per resource, request validation from openapi.yaml, one
 * error mapping. It holds no state of its own; everything goes through the use cases.
 */
import express, { type Express } from 'express';
import cors from 'cors';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { FactumContext } from '../usecases/context.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { jsonBodyNesting } from './json-nesting.ts';
import { databasesRouter } from './routes/databases.ts';
import { eventsRouter } from './routes/events.ts';
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

export interface AppOptions {
  logger: Logger;
  version: string;
  /** Largest accepted JSON body, in bytes. */
  maxBodyBytes: number;
  /** Largest accepted component upload, in bytes. */
  maxComponentBytes: number;
}

export function createApp(ctx: FactumContext, options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: options.logger,
      quietReqLogger: true,
      // One short line per request: what was asked and how it ended, not every header.
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );
  app.use(
    cors({
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'X-API-Key', 'If-None-Match'],
      exposedHeaders: ['Location', 'ETag'],
    }),
  );
  app.use(
    express.json({
      limit: options.maxBodyBytes,
      // Any JSON media type is parsed; each route's schema then says which it accepts.
      type: ['application/json', 'application/*+json'],
      strict: false,
    }),
  );
  app.use(jsonBodyNesting);

  app.use(healthRouter(ctx, { version: options.version, startedAt: Date.now() }));
  // Before events and state views: streamed queries and live views branch off their routes.
  app.use(subscriptionsRouter(ctx));
  app.use(consumersRouter(ctx));
  app.use(databasesRouter(ctx));
  app.use(eventsRouter(ctx));
  app.use(valuesRouter(ctx));
  app.use(stateViewsRouter(ctx, { maxComponentBytes: options.maxComponentBytes }));
  app.use(stateChangesRouter(ctx, { maxComponentBytes: options.maxComponentBytes }));
  app.use(componentsDownloadRouter(ctx));
  app.use(importRouter(ctx, { maxBodyBytes: options.maxBodyBytes, maxComponentBytes: options.maxComponentBytes }));
  app.use(mcpRoutes(ctx, { version: options.version }));
  // After the API, so its routes come first; API errors never reach the console's error page.
  app.use(consoleRouter(ctx, { version: options.version, maxComponentBytes: options.maxComponentBytes }));

  app.use(notFoundHandler);
  app.use(PROCESS_COMMAND_PATH, processErrorHandler);
  app.use(errorHandler);
  return app;
}
