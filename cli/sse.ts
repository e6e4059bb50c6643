/** Reading server-sent events (pure): what `hoist watch` and the tests read `GET /api/events` with. */

/** A parsed SSE message. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads SSE messages from text chunks (for clients: `hoist watch`, tests): feed it chunks, it
 * answers the messages completed so far; comments are dropped.
 */
export function sseReader(): (chunk: string) => SseMessage[] {
  let buffer = '';
  return (chunk) => {
    buffer += chunk.replace(/\r\n?/g, '\n');
    const messages: SseMessage[] = [];
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = { data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
      }
      message.data = data.join('\n');
      if (data.length > 0) messages.push(message);
      end = buffer.indexOf('\n\n');
    }
    return messages;
  };
}
