// @ts-check
// "Run with revision…": what a pipeline may be pinned to, picked from its candidates. Open
// pickers are kept here, so that a live update of the board leaves them open, as chosen.
import { html, nothing } from 'lit-html';
import { api, enc } from '../api.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['PinChoices']} PinChoices */
/** @typedef {import('./view.js').Ui} Ui */

/** @type {Map<string, PinChoices | 'loading'>} */
const open = new Map();

/** Opens the picker of pipeline `name`. @param {string} name @param {Ui} ui */
export async function openPicker(name, ui) {
  open.set(name, 'loading');
  ui.redraw();
  await ui.act(async () => {
    open.set(name, await api('GET', `/api/pipelines/${enc(name)}/candidates`));
  });
  ui.redraw();
}

/** The picker of pipeline `name`, while open. @param {string} name @param {Ui} ui */
export function picker(name, ui) {
  const choices = open.get(name);
  if (!choices) return nothing;
  if (choices === 'loading') return html`<p class="muted picker">Loading revisions…</p>`;
  const close = () => {
    open.delete(name);
    ui.redraw();
  };
  if (choices.packages.length === 0)
    return html`<div class="picker"><p class="muted">This pipeline has no package to pin.</p>
      <button type="button" @click=${close}>Close</button></div>`;
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    /** @type {Record<string, string>} */
    const revisions = {};
    for (const select of form.querySelectorAll('select'))
      if (select.value) revisions[select.dataset.material ?? ''] = select.value;
    ui.act(async () => {
      await api('POST', `/api/pipelines/${enc(name)}/schedule`, { revisions });
      open.delete(name);
    });
  };
  return html`<form class="picker pin" @submit=${submit}>
    ${choices.packages.map((p, i) => {
      const id = `pin-${name}-${i}`;
      return html`<label for=${id}>Revision of ${p.material}${p.via ? ` (passed ${p.via})` : ''}</label>
        <select id=${id} data-material=${p.material}>
          ${i === 0 ? nothing : html`<option value="">as it comes</option>`}
          ${p.revisions.length === 0 ? html`<option value="">no revision yet</option>` : nothing}
          ${p.revisions.map((r) => html`<option value=${r.revision}>${r.revision}${r.upstream ? ` — ${r.upstream}` : ''}</option>`)}
        </select>`;
    })}
    <button class="action primary" type="submit" aria-label=${`Run ${name} with the chosen revision`}>Run</button>
    <button type="button" @click=${close}>Close</button>
  </form>`;
}
