/**
 * The Model Context Protocol at /mcp, over the Streamable HTTP transport of the official SDK.
 *
 * Stateless: every POST gets a server and a transport of its own, and no session is kept. All
 * the tools' state is in the store, so any server behind a load balancer can answer any
 * request, and nothing is held in memory between requests (a session store would have to be
 * shared between servers to survive one going away). Answers are plain JSON rather than an
 * SSE stream: the tools send no progress or notifications, and there is no stream to resume.
 * GET (a stream of server-initiated messages) and DELETE (ending a session) have nothing to
 * serve without sessions: 405, as the transport's specification provides.
 *
 * The routes are ordinary Express routes, so whatever app.ts puts in front of them
 * (authentication) applies to them as to the rest of the API.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { Principal } from '../../core/access.ts';
import { operations } from '../../schema/openapi.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { assertAccess } from '../access/authorize.ts';
import { toHttpError } from '../errors.ts';
import { errorResult, toolResult } from './answers.ts';
import { TOOLS, TOOLS_BY_NAME, type FactumTool } from './tools.ts';

export const MCP_PATH = '/mcp';
/** The paths Express routes to MCP_PATH (it ignores case and a trailing slash). */
const ROUTED_TO_MCP = /^\/mcp\/?$/i;

const INSTRUCTIONS =
  'Factum is an event-sourcing database of CloudEvents. list_databases and describe_database show what is there; ' +
  'query_events reads events (page with next_cursor); append_events writes a transaction, with revision constraints for ' +
  'consistency; render_state_view reads a projection; process_command runs a command handler (dry_run to preview). ' +
  'A failed call answers {error: {code, message, details}}: read the message and details, fix the arguments, and call again; ' +
  'ABORTED means contention, and the same call may simply be sent again.';

/**
 * The MCP routes and, after them, the error handler that answers /mcp's failures (a body that
 * is not JSON, over the size limit, refused by middleware in front) as JSON-RPC errors. Both
 * go into app.ts with one `app.use`; the handler must be at the app's level to see errors from
 * the app's body parser.
 */
export function mcpRoutes(ctx: FactumContext, options: { version: string }): [Router, ErrorRequestHandler] {
  const router = Router();
  router.post(MCP_PATH, async (req, res) => {
    const server = mcpServer(ctx, options.version, req, res.locals.principal);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // The app's JSON parser has read the body; the transport takes it as parsed. A body it did
    // not parse (another content type) is left to the transport, which refuses it with 415.
    await transport.handleRequest(req, res, req.body);
  });
  router.all(MCP_PATH, methodNotAllowed);
  return [router, jsonRpcErrors];
}

/** A server for one request; tool calls log their unexpected failures with its logger. */
function mcpServer(ctx: FactumContext, version: string, req: Request, caller: Principal | undefined): Server {
  const server = new Server({ name: 'factum', version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  // The transport reports each request it refuses (and answers with 4xx) here too.
  server.onerror = (error) => req.log?.debug({ err: error }, 'MCP transport refused a message');
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS.map(toolListing) }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = TOOLS_BY_NAME.get(request.params.name);
    // An unknown tool is the client's protocol mistake, not a tool's failure.
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `no tool named "${request.params.name.slice(0, 100)}"`);
    try {
      const args = tool.arguments.read(request.params.arguments ?? {});
      // The key that may call the tool's API operation may call the tool, on the same databases.
      assertAccess(caller, operations.get(tool.operation)!.requirement, tool.databaseOf?.(args));
      return toolResult(await tool.run(ctx, args, caller), req);
    } catch (error) {
      return errorResult(error, req);
    }
  });
  return server;
}

function toolListing(tool: FactumTool): Tool {
  return { name: tool.name, title: tool.title, description: tool.description, inputSchema: tool.arguments.inputSchema, annotations: tool.annotations };
}

const methodNotAllowed: RequestHandler = (req, res) => {
  res
    .status(405)
    .set('Allow', 'POST')
    .json(jsonRpcError(-32000, `${req.method} is not served at ${MCP_PATH}: this server keeps no sessions, so there is no stream to open or session to end; POST JSON-RPC messages`));
};

/** /mcp's failures as JSON-RPC errors, with the API's status, headers and error fields. */
const jsonRpcErrors: ErrorRequestHandler = (error, req, res, next) => {
  if (!ROUTED_TO_MCP.test(req.path)) return next(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, code, message, details, headers } = toHttpError(error, req);
  const rpcCode = (error as { type?: string })?.type === 'entity.parse.failed' ? ErrorCode.ParseError : status >= 500 ? ErrorCode.InternalError : -32000;
  res.status(status).set(headers).json(jsonRpcError(rpcCode, message, { code, details }));
};

function jsonRpcError(code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0', error: { code, message, ...(data === undefined ? {} : { data }) }, id: null };
}
