// @ts-check
// The materials: each one's latest revision, last and next check, last error and recent checks
// (a section that stays open across updates), and the server instances sharing the store.
import { html, nothing } from 'lit-html';
import { api, can } from '../api.js';
import { externalLink } from '../links.js';
import { duration, when } from '../time.js';
import { always } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {{ materials: Schemas['Material'][], instances: Schemas['Instance'][] }} MaterialsPage */
/** @typedef {import('./view.js').Ui} Ui */

/** @type {import('./view.js').View<MaterialsPage>} */
export const materialsView = {
  title: () => 'Materials',
  nav: 'Materials',
  load: async () => {
    const [materials, instances] = await Promise.all([
      api('GET', '/api/materials?checks=5'),
      api('GET', '/api/instances'),
    ]);
    return { materials, instances };
  },
  render: ({ materials, instances }, _args, ui) => {
    const repos = [...new Set(materials.map((m) => m.repository))];
    return html`<section class="card" aria-label="Materials">
        <header class="pipeline-head"><h2>Materials</h2>
        ${
          can('operator')
            ? html`<div class="actions" role="group" aria-label="Check now">${repos.map(
                (r) => html`<button type="button" class="action" aria-label=${`Check ${r} now`}
                @click=${() => ui.act(() => api('POST', '/api/materials/check', { repository: r }))}>Check ${r} now</button>`,
              )}</div>`
            : nothing
        }</header>
        <div class="table-scroll"><table><thead><tr><th>Material</th><th>Latest revision</th><th>Last check</th><th>Next check</th><th>Last error</th></tr></thead>
        <tbody>${materials.map(material)}</tbody></table></div>
      </section>
      <section class="card" aria-label="Instances"><h2>Instances</h2>
        <div class="table-scroll"><table><thead><tr><th>Instance</th><th>URL</th><th>Alive</th><th>Last heartbeat</th><th>Checking</th><th>Runs</th></tr></thead>
        <tbody>${instances.map(
          (
            i,
          ) => html`<tr><td>${i.id}${i.self ? html` <span class="muted">(this one)</span>` : nothing}</td><td>${i.url}</td>
            <td class=${i.alive ? '' : 'error'}>${i.alive ? 'yes' : 'no'}</td><td>${when(i.heartbeatAt)}</td>
            <td>${i.materials.length}</td><td>${i.runs.join(' ') || '—'}</td></tr>`,
        )}</tbody></table></div>
      </section>`;
  },
  refreshOn: (e) => always(e) || e.type === 'material.checked' || e.type === 'material.revision',
};

/** @param {Schemas['Material']} m */
const material = (m) => html`<tr data-material=${`${m.repository}/${m.package}`}>
  <td>${m.repository}/${m.package}</td>
  <td>${
    m.latestRevision
      ? html`<strong class="label">${m.latestRevision.revision}</strong>
      ${m.latestRevision.comment ? html`<div class="summary">${m.latestRevision.comment}</div>` : nothing}
      ${m.latestRevision.user ? html`<div class="muted packager">by ${m.latestRevision.user}</div>` : nothing}
      ${m.latestRevision.trackbackUrl ? html`<div class="trackback">${externalLink(m.latestRevision.trackbackUrl)}</div>` : nothing}`
      : '—'
  }</td>
  <td>${
    m.lastCheck
      ? html`${when(m.lastCheck.startedAt)} <span class="muted">(${duration(m.lastCheck.durationMs)})</span><div class="muted">${m.lastCheck.decision}</div>`
      : '—'
  }
    <details class="recent-checks"><summary>Recent checks</summary><ul>${m.recentChecks.map(
      (c) => html`<li>${when(c.startedAt)} ${c.outcome}: ${c.decision}</li>`,
    )}</ul></details></td>
  <td>${m.checking ? 'checking now' : m.nextCheckAt ? when(m.nextCheckAt) : 'on demand'}</td>
  <td class="error">${m.lastError ?? ''}</td>
</tr>`;
