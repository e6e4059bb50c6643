/** What replaces a secret in a job's log. */
export const MASK = '********';

/**
 * The forms of secrets that are masked, 3 characters or more, longest first: raw, and URL-encoded
 * as the usual encoders write it — a component (JavaScript's `encodeURIComponent`, RFC 3986 as
 * Python's `quote(s, safe='')`), a path (`/` kept, as Python's `quote` by default; `encodeURI`), a
 * form (`+` for a space, as `URLSearchParams` and Python's `quote_plus`) — each with upper- or
 * lower-case escapes.
 */
export function secretForms(secrets: readonly string[]): string[] {
  return [...new Set(secrets.flatMap(encodedForms).filter((s) => s.length >= 3))].sort(
    (a, b) => b.length - a.length,
  );
}

function encodedForms(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const rfc3986 = component.replace(/[!'()*]/g, (c) => `%${hex(c)}`);
  const encoded = [
    component,
    rfc3986,
    rfc3986.replace(/%2F/g, '/'),
    rfc3986.replace(/%20/g, '+'),
    new URLSearchParams({ s: secret }).toString().slice(2),
    encodeURI(secret),
  ];
  const lower = encoded.map((f) => f.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  return [secret, ...encoded, ...lower];
}

function hex(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
}

function patternOf(forms: readonly string[]): RegExp {
  return new RegExp(forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

/** Replaces every secret (and its URL-encoded form) in a whole text. */
export function masker(secrets: readonly string[]): (text: string) => string {
  const forms = secretForms(secrets);
  if (forms.length === 0) return (text) => text;
  const pattern = patternOf(forms);
  return (text) => text.replace(pattern, MASK);
}

/** A masker over a stream of text cut anywhere: `push` each piece, `flush` at the end. */
export interface StreamMasker {
  /** The masked text that is safe to write now; a possible start of a secret is held back. */
  push(text: string): string;
  /** The masked rest (at the end of the stream). */
  flush(): string;
}

/**
 * A masker for text that arrives in pieces cut at any point: the longest tail that could be the
 * start of a secret is held back until the next piece tells, so that no secret reaches the
 * output in clear whatever the cuts. A job's stdout and stderr go through one such masker in the
 * order they arrive, so that a secret written half to each is caught too.
 */
export function streamMasker(secrets: readonly string[]): StreamMasker {
  const forms = secretForms(secrets);
  if (forms.length === 0) return { push: (text) => text, flush: () => '' };
  const pattern = patternOf(forms);
  const longest = forms[0]?.length ?? 0;
  let pending = '';
  /** The first index at or after `from` where the rest of `text` could begin a secret. */
  const heldFrom = (text: string, from: number): number => {
    for (let p = Math.max(from, text.length - longest + 1); p < text.length; p++) {
      const tail = text.slice(p);
      if (forms.some((f) => f.length > tail.length && f.startsWith(tail))) return p;
    }
    return text.length;
  };
  return {
    push(text) {
      const buffer = pending + text;
      let out = '';
      let pos = 0;
      let hold = heldFrom(buffer, 0);
      for (;;) {
        if (hold < pos) hold = heldFrom(buffer, pos);
        pattern.lastIndex = pos;
        const match = pattern.exec(buffer);
        // A match that starts before the held tail cannot grow into a longer secret.
        if (match && match.index < hold) {
          out += buffer.slice(pos, match.index) + MASK;
          pos = match.index + match[0].length;
          continue;
        }
        out += buffer.slice(pos, hold);
        pending = buffer.slice(hold);
        return out;
      }
    },
    flush() {
      const rest = pending.replace(pattern, MASK);
      pending = '';
      return rest;
    },
  };
}
