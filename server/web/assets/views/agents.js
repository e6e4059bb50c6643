// @ts-check
// The agents: what each is (state, resources, environments), what it does now (its job), when it
// was last heard from; admins enable and disable them here.
import { html, nothing } from 'lit-html';
import { api, can, enc } from '../api.js';
import { when } from '../time.js';
import { jobHref } from './parts.js';
import { always } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['Agent']} Agent */
/** @typedef {import('./view.js').Ui} Ui */

/** The badge colour of each status: a lost agent as a failure, a draining one as waiting. */
const STATUS_CLASS = { idle: 'passed', building: 'building', draining: 'waiting', lost: 'failed' };

/** @type {import('./view.js').View<Agent[]>} */
export const agentsView = {
  title: () => 'Agents',
  nav: 'Agents',
  load: () => api('GET', '/api/agents'),
  render: (agents, _args, ui) => html`<section class="card" aria-label="Agents"><h2>Agents</h2>
    ${
      agents.length === 0
        ? html`<p class="muted">No agents: jobs run on the server's local agent. <code>hoist agent --server URL</code> registers one.</p>`
        : html`<div class="table-scroll"><table><thead><tr><th>Agent</th><th>State</th><th>Status</th>
          <th>Resources</th><th>Environments</th><th>Job</th><th>Last heartbeat</th>${can('admin') ? html`<th>Actions</th>` : nothing}</tr></thead>
          <tbody>${agents.map((a) => row(a, ui))}</tbody></table></div>`
    }</section>`,
  refreshOn: (e) => always(e) || e.type === 'agent.changed' || e.type.startsWith('job.'),
};

/** @param {Agent} a @param {Ui} ui */
const row = (a, ui) => {
  const job = a.currentJob;
  return html`<tr>
    <td>${a.hostname} <span class="muted" title=${a.id}>${a.id.slice(0, 8)}</span>
      <span class="muted">${a.version}</span></td>
    <td>${a.state}</td>
    <td><span class="badge ${STATUS_CLASS[a.status]}">${a.status}</span></td>
    <td>${a.resources.join(', ') || html`<span class="muted">none</span>`}</td>
    <td>${a.environments.join(', ') || html`<span class="muted">none</span>`}</td>
    <td>${job ? html`<a href=${jobHref(job.pipeline, job.counter, job.stage, job.job)}>${job.pipeline} #${job.counter} ${job.stage}/${job.job}</a>` : html`<span class="muted">-</span>`}</td>
    <td>${when(a.lastHeartbeat)}</td>
    ${can('admin') ? html`<td>${toggle(a, ui)}</td>` : nothing}
  </tr>`;
};

/** Enable a pending or disabled agent, disable an enabled one. @param {Agent} a @param {Ui} ui */
const toggle = (a, ui) => {
  const next = a.state === 'enabled' ? 'disabled' : 'enabled';
  return html`<button type="button" class=${next === 'enabled' ? 'action primary' : 'action'}
    aria-label=${`${next === 'enabled' ? 'Enable' : 'Disable'} agent ${a.hostname}`}
    @click=${() => ui.act(() => api('PATCH', `/api/agents/${enc(a.id)}`, { state: next }))}
    >${next === 'enabled' ? 'Enable' : 'Disable'}</button>`;
};
