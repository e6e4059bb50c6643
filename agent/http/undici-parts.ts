import { createRequire } from 'node:module';
import type { Agent as AgentType, Dispatcher, ProxyAgent as ProxyAgentType } from 'undici';

/**
 * The parts of undici the HTTP client uses, loaded without undici's index: the index also loads
 * fetch, WebSocket, EventSource, caches and mocks, ~100 ms of start-up that every `hoist check`
 * would pay. The version is pinned by the lockfile, and the client's tests cover these paths.
 */
const require = createRequire(import.meta.url);

/** undici's Agent: a connection pool per origin. */
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof AgentType;

/** undici's ProxyAgent, loaded when a proxy is first configured. */
export function proxyAgent(): typeof ProxyAgentType {
  return require('undici/lib/dispatcher/proxy-agent.js') as typeof ProxyAgentType;
}

const apiRequest = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** undici's `request(url, options)`, through the given dispatcher. */
export function request(
  dispatcher: Dispatcher,
  url: string,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>,
): Promise<Dispatcher.ResponseData> {
  const parsed = new URL(url);
  return apiRequest.call(dispatcher, {
    ...options,
    origin: parsed.origin,
    path: `${parsed.pathname}${parsed.search}`,
  });
}
