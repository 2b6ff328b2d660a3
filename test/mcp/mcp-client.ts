/** The SDK's own MCP client against a test server, with helpers to read tool results. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';

export async function connectMcp(serverUrl: string): Promise<Client> {
  const client = new Client({ name: 'factum-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', serverUrl)));
  return client;
}

export interface ToolError {
  code: string;
  message: string;
  details: Record<string, any>;
}

/** Calls a tool and returns its structured content, which its text must say as JSON too. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ isError: boolean; content: any }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const [text] = result.content;
  expect(text?.type).toBe('text');
  expect(JSON.parse((text as { text: string }).text)).toEqual(result.structuredContent);
  return { isError: result.isError === true, content: result.structuredContent };
}

/** Calls a tool that must succeed and returns its structured content. */
export async function answerOf(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = await callTool(client, name, args);
  expect(result.isError, JSON.stringify(result.content)).toBe(false);
  return result.content;
}

/** Calls a tool that must fail and returns the error of its answer (the API's error shape). */
export async function errorOf(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolError> {
  const result = await callTool(client, name, args);
  expect(result.isError, JSON.stringify(result.content)).toBe(true);
  const error = result.content.error as ToolError;
  expect(error).toEqual({ code: expect.any(String), message: expect.any(String), details: expect.any(Object) });
  return error;
}
