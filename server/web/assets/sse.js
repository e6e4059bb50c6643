// @ts-check
// Server-sent events read from a fetch() body: EventSource cannot send the token as a header.

/** @typedef {{ id?: string, event: string, data: string }} SseMessage */

/**
 * A parser of the text/event-stream format: feed it chunks of text, it calls `onMessage` for
 * each complete message (comments such as `: keep-alive` are skipped).
 * @param {(message: SseMessage) => void} onMessage
 */
export function sseParser(onMessage) {
  let buffer = '';
  /** @type {{ id?: string, event?: string, data: string[] }} */
  let current = { data: [] };
  /** @param {string} line */
  const line = (line) => {
    if (line === '') {
      if (current.data.length > 0 || current.event)
        onMessage({
          ...(current.id === undefined ? {} : { id: current.id }),
          event: current.event ?? 'message',
          data: current.data.join('\n'),
        });
      current = { data: [] };
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') current.data.push(value);
    else if (field === 'event') current.event = value;
    else if (field === 'id') current.id = value;
  };
  /** @param {string} chunk */
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split(/\r?\n/);
    buffer = lines.pop() ?? '';
    for (const l of lines) line(l);
  };
}
