// @ts-check
// A run's actions (approve, re-run, cancel): buttons, together, apart from the run's links.
import { html, nothing } from 'lit-html';
import { api, can, enc } from '../api.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['Run']} Run */
/** @typedef {import('./view.js').Ui} Ui */

/** Approve, re-run, cancel: the run's actions, together and apart from its links. @param {Run} r @param {Ui} ui */
export function runActions(r, ui) {
  if (!can('operator')) return nothing;
  const base = `/api/pipelines/${enc(r.pipeline)}/runs/${r.counter}`;
  const buttons = [];
  for (const s of r.stages) {
    if (s.status === 'awaiting_approval')
      buttons.push(html`<button type="button" class="action primary"
        aria-label=${`Approve ${s.name} of ${r.pipeline} ${r.counter}`}
        @click=${() => ui.act(() => api('POST', `${base}/stages/${enc(s.name)}/approve`, {}))}>Approve ${s.name}</button>`);
    if (s.status === 'failed' || s.status === 'cancelled')
      buttons.push(html`<button type="button" class="action"
        aria-label=${`Run ${s.name} of ${r.pipeline} ${r.counter} again`}
        @click=${() => ui.act(() => api('POST', `${base}/stages/${enc(s.name)}/run`))}>Re-run ${s.name}</button>`);
  }
  if (r.status === 'building' || r.status === 'waiting')
    buttons.push(html`<button type="button" class="action danger"
      aria-label=${`Cancel ${r.pipeline} ${r.counter}`}
      @click=${() => ui.act(() => api('POST', `${base}/cancel`))}>Cancel</button>`);
  return buttons.length
    ? html`<div class="actions run-actions" role="group" aria-label=${`Actions on ${r.pipeline} ${r.counter}`}>${buttons}</div>`
    : nothing;
}
