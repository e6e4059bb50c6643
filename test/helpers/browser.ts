import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, headless; a missing browser fails with the package to install. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A page with every console error and uncaught exception it has seen. */
export interface WatchedPage {
  page: Page;
  /** Console errors and page errors, in order. */
  errors: string[];
}

/** Opens the dashboard at `url` and signs in with `token`, collecting console errors. */
export async function signIn(
  browser: Browser,
  url: string,
  token: string,
  width = 1200,
): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error')
      errors.push(`console: ${message.text()} [${message.location().url}]`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return { page, errors };
}

/**
 * Whether the server has an event stream. Without one (`GET /api/events` answers 404) the
 * dashboard polls instead, and its one 404 for the stream is the only console error allowed.
 */
export async function hasEventStream(url: string, token: string): Promise<boolean> {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  controller.abort();
  return response.status !== 404;
}

/** The console errors of pages, less the stream's 404 of a server without a stream. */
export function unexpectedErrors(pages: WatchedPage[], stream: boolean): string[] {
  return pages
    .flatMap((w) => w.errors)
    .filter((e) => stream || !/404 \(Not Found\) \[[^\]]*\/api\/events\]$/.test(e));
}

/** An event of `GET /api/events` as the test receives it, with when it arrived. */
export interface ReceivedEvent {
  event: { id: string; type: string; [key: string]: unknown };
  receivedAt: number;
}

/** The test's own subscriber to the event stream: waits for the first event that matches. */
export async function subscribe(url: string, token: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`GET /api/events answered ${response.status}`);
  const received: ReceivedEvent[] = [];
  const waiting: { match: (e: ReceivedEvent['event']) => boolean; done: () => void }[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      const messages = buffer.split('\n\n');
      buffer = messages.pop() ?? '';
      for (const message of messages) {
        const data = message
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        received.push({ event: JSON.parse(data), receivedAt: Date.now() });
        for (const w of waiting) w.done();
      }
    }
  })().catch(() => undefined);
  return {
    /** The first event (so far or to come) that `match` accepts. */
    next(match: (e: ReceivedEvent['event']) => boolean, ms = 20_000): Promise<ReceivedEvent> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms`)), ms);
        const entry = {
          match,
          done: () => {
            const found = received.find((r) => match(r.event));
            if (!found) return;
            clearTimeout(timer);
            waiting.splice(waiting.indexOf(entry), 1);
            resolve(found);
          },
        };
        waiting.push(entry);
        entry.done();
      });
    },
    async close() {
      controller.abort();
      await reading;
    },
  };
}
