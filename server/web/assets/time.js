// @ts-check
// Times as the dashboard shows them: relative ("3 min ago"), the exact time on hover.
import { html, nothing } from 'lit-html';

const UNITS = /** @type {const} */ ([
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
]);

/**
 * A length of time, its two largest units: `850 ms`, `12 s`, `3 min 5 s`, `2 h 10 min`.
 * @param {number} ms
 */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let rest = Math.floor(ms / 1000) * 1000;
  /** @type {[number, string][]} */
  const parts = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push([n, unit]);
    if (parts.length === 2) break;
  }
  return parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(' ');
}

/**
 * How long ago (or how soon) a time is: `just now`, `3 min ago`, `in 2 h`.
 * @param {string} iso
 * @param {number} [now]
 */
export function relative(iso, now = Date.now()) {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  const delta = now - at;
  if (Math.abs(delta) < 5000) return 'just now';
  const [unit, size] = UNITS.find(([, s]) => Math.abs(delta) >= s) ?? UNITS[3];
  const n = Math.floor(Math.abs(delta) / size);
  return delta > 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** The exact time, local and ISO. @param {string} iso */
export const exact = (iso) => `${new Date(iso).toLocaleString()} (${new Date(iso).toISOString()})`;

/** A time element: relative text, exact time in its title. @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return nothing;
  return html`<time datetime=${iso} title=${exact(iso)}>${relative(iso)}</time>`;
}

/**
 * How long something took, or has been running.
 * @param {string | null | undefined} start
 * @param {string | null | undefined} end
 */
export function took(start, end) {
  if (!start) return nothing;
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return html`<span class="duration" title=${end ? `from ${exact(start)} to ${exact(end)}` : `since ${exact(start)}`}
    >${end ? duration(ms) : `running ${duration(ms)}`}</span
  >`;
}
