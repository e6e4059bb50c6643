import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../events/bus.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { createApp } from './app.ts';
import { TokenTable } from './auth.ts';
import { eventRoutes } from './routes-events.ts';

const TOKEN = 'viewer-token-0123456789';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: { stallMs?: number; keepAliveMs?: number } = {}) {
  const store = openSqliteStore(':memory:');
  const tokens = new TokenTable();
  tokens.set([{ name: 'vic', role: 'viewer', token: TOKEN }]);
  const app = await createApp({ tokens, logger: false, version: 'test' });
  const bus = new EventBus({ store, logger: app.log, pollMs: 50 });
  await bus.start();
  await app.register(eventRoutes, { bus, tokens, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(
    () => store.close(),
    () => bus.stop(),
    () => app.close(),
  );
  return { store, tokens, port: (app.server.address() as AddressInfo).port };
}

/** A raw client that sends the request and then reads nothing. */
function stalledClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.write(
    `GET /api/events?since=0 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`,
  );
  socket.pause();
  let bytes = 0;
  socket.on('data', (d: Buffer) => (bytes += d.length));
  const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return { socket, ended, bytes: () => bytes };
}

describe('api/routes-events', () => {
  it('holds events back from a client that does not read, and disconnects it after a while', async () => {
    const { store, port } = await serve({ stallMs: 1000 });
    // ~20 MB of events: more than the kernel's socket buffers take.
    const drafts = Array.from({ length: 2000 }, (_, i) => ({
      type: 'agent.changed' as const,
      agent: `agent-${i}`,
      message: 'x'.repeat(200),
    }));
    for (let i = 0; i < 50; i++) await store.appendEvents(drafts);
    const client = stalledClient(port);
    await new Promise((r) => setTimeout(r, 3000));
    // Reading now, it gets what was buffered and then the end: the server let go of it.
    client.socket.resume();
    const outcome = await Promise.race([
      client.ended.then(() => 'ended'),
      new Promise((r) => setTimeout(() => r('still open'), 15_000)),
    ]);
    expect(outcome).toBe('ended');
    expect(client.bytes()).toBeGreaterThan(0);
    expect(client.bytes()).toBeLessThan(100_000 * 200);
  }, 30_000);

  it('sends a keep-alive comment while nothing happens', async () => {
    const { port } = await serve({ keepAliveMs: 100 });
    const abort = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: abort.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while ((text.match(/: keep-alive/g) ?? []).length < 3)
      text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    expect(text.startsWith('retry: 2000\n: keep-alive\n\n: keep-alive\n\n')).toBe(true);
  });

  it('ends a stream whose token was removed since it opened', async () => {
    const { port, tokens } = await serve({ keepAliveMs: 100 });
    const response = await fetch(`http://127.0.0.1:${port}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    tokens.set([{ name: 'other', role: 'viewer', token: 'other-token-0123456789' }]);
    const started = Date.now();
    while (!(await reader.read()).done) if (Date.now() - started > 5000) break;
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives a client that reads every event of a long catch-up, in order', async () => {
    const { store, port } = await serve();
    const drafts = Array.from({ length: 5000 }, (_, i) => ({
      type: 'agent.changed' as const,
      agent: `agent-${i}`,
    }));
    for (let i = 0; i < 4; i++) await store.appendEvents(drafts);
    const abort = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/api/events?since=0`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: abort.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('id: 20000\n')) text += decoder.decode((await reader.read()).value);
    abort.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: 20000 }, (_, i) => i + 1));
  }, 30_000);
});
