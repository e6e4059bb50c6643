// @ts-check
// Webhooks and their delivery log (operators and admins): what was sent, how it was answered,
// when it is tried again.
import { html, nothing } from 'lit-html';
import { api, enc } from '../api.js';
import { when } from '../time.js';
import { always } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {{ notification: Schemas['Notification'], deliveries: Schemas['Delivery'][] }} Webhook */

/** @type {import('./view.js').View<Webhook[]>} */
export const notificationsView = {
  title: () => 'Notifications',
  nav: 'Notifications',
  role: 'operator',
  load: async () => {
    /** @type {Schemas['Notification'][]} */
    const list = await api('GET', '/api/notifications');
    return Promise.all(
      list.map(async (notification) => ({
        notification,
        deliveries: await api(
          'GET',
          `/api/notifications/${enc(notification.name)}/deliveries?limit=20`,
        ),
      })),
    );
  },
  render: (webhooks) =>
    webhooks.length === 0
      ? html`<section class="card"><h2>Notifications</h2><p class="muted">No webhooks: <code>notifications:</code> in hoist.yaml adds them.</p></section>`
      : webhooks.map(webhook),
  refreshOn: (e) => always(e) || e.type.startsWith('notification.'),
};

/** @param {Webhook} w */
const webhook = ({ notification: n, deliveries }) =>
  html`<section class="card" aria-label=${`Notification ${n.name}`}>
    <h2>${n.name} <span class="muted">${n.format}${n.signed ? ' · signed' : ''}</span></h2>
    <p class="muted">${n.url} · ${n.events.join(', ')}</p>
    <div class="table-scroll"><table><thead><tr><th>Event</th><th>Status</th><th>Attempts</th><th>Answer</th><th>Next attempt</th><th>Since</th></tr></thead>
    <tbody>${deliveries.map(
      (
        d,
      ) => html`<tr data-delivery=${d.id}><td>${d.type} <span class="muted">#${d.event}</span></td>
        <td><span class="badge ${d.status === 'delivered' ? 'passed' : d.status === 'failed' ? 'failed' : 'waiting'}">${d.status}</span></td>
        <td>${d.attempts}</td>
        <td>${d.responseCode ?? ''}${d.lastError ? html` <span class="error">${d.lastError}</span>` : nothing}</td>
        <td>${d.nextAttemptAt ? when(d.nextAttemptAt) : '—'}</td><td>${when(d.createdAt)}</td></tr>`,
    )}</tbody></table></div>
    ${deliveries.length === 0 ? html`<p class="muted">Nothing delivered yet.</p>` : nothing}
  </section>`;
