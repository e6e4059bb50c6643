// @ts-check
// Links from repository metadata: only http: and https: URLs become links; the rest is text.
import { html } from 'lit-html';

/**
 * The URL as a link target, or null when it is not an absolute http(s) URL.
 * @param {string | null | undefined} text
 */
export function safeHref(text) {
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A repository's URL: a link that opens apart from the dashboard, or plain text.
 * @param {string | null | undefined} text
 * @param {string} [label]
 */
export function externalLink(text, label) {
  const href = safeHref(text);
  return href
    ? html`<a class="external" href=${href} rel="noopener noreferrer" target="_blank">${label ?? text}</a>`
    : html`<span class="url-text" title="not an http(s) link">${text}</span>`;
}
