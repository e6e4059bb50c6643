// @ts-check
// Live updates: the server's event stream (`GET /api/events`), resumed after the last id when the
// connection drops; polling every 2 s where the server has no stream (404).
import { sseParser } from './sse.js';

/**
 * An event of the stream (`data:` of one message).
 * @typedef {{
 *   id: string, type: string, at: string, pipeline?: string, counter?: number, stage?: string,
 *   job?: string, material?: { repository: string, package: string }, label?: string,
 *   outcome?: string, actor?: string, [key: string]: unknown
 * }} HoistEvent
 */
/** @typedef {'connecting' | 'live' | 'polling' | 'reconnecting' | 'stopped'} LiveState */

const POLL_MS = 2000;
const RETRY_MS = 2000;

/**
 * Connects and calls `onEvent` for every event (a `{type: 'poll'}` one every 2 s when polling).
 * @param {{ token: () => string | null, onEvent: (event: HoistEvent) => void, onState: (state: LiveState) => void }} options
 * @returns {{ stop(): void }}
 */
export function liveEvents({ token, onEvent, onState }) {
  let stopped = false;
  /** @type {string | undefined} */
  let lastId;
  /** @type {AbortController | undefined} */
  let controller;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let poller;

  const poll = () => {
    onState('polling');
    poller = setInterval(
      () => onEvent({ id: '', type: 'poll', at: new Date().toISOString() }),
      POLL_MS,
    );
  };

  const connect = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch('/api/events', {
          headers: {
            authorization: `Bearer ${token()}`,
            accept: 'text/event-stream',
            ...(lastId ? { 'last-event-id': lastId } : {}),
          },
          cache: 'no-store',
          signal: controller.signal,
        });
        if (response.status === 404) return poll();
        // A token refused now: the page's next read signs out; nothing to retry with.
        if (response.status === 401) return onState('stopped');
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState('live');
        // Resumed after a drop: what happened meanwhile came with it; a fresh read is due too.
        if (lastId) onEvent({ id: lastId, type: 'reconnected', at: new Date().toISOString() });
        await read(response.body);
      } catch {
        // Dropped or refused: tried again below.
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  };

  /** @param {ReadableStream<Uint8Array>} body */
  const read = async (body) => {
    const feed = sseParser((message) => {
      if (message.id) lastId = message.id;
      try {
        const event = JSON.parse(message.data);
        onEvent({ ...event, type: event.type ?? message.event, id: event.id ?? message.id });
      } catch {
        // Not an event of ours (a comment or a malformed line): nothing to update.
      }
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      feed(decoder.decode(value, { stream: true }));
    }
  };

  onState('connecting');
  connect();
  return {
    stop() {
      stopped = true;
      controller?.abort();
      clearInterval(poller);
      onState('stopped');
    },
  };
}
