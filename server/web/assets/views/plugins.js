// @ts-check
// The plugins and their state: one that failed to load says why (its materials fail with it).
import { html } from 'lit-html';
import { api } from '../api.js';
import { always } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['Plugin']} PluginInfo */

/** @type {import('./view.js').View<PluginInfo[]>} */
export const pluginsView = {
  title: () => 'Plugins',
  nav: 'Plugins',
  load: () => api('GET', '/api/plugins'),
  render: (plugins) => html`<section class="card" aria-label="Plugins"><h2>Plugins</h2>
    <div class="table-scroll"><table><thead><tr><th>Plugin</th><th>Version</th><th>Kind</th><th>State</th></tr></thead><tbody>
    ${plugins.map(
      (
        p,
      ) => html`<tr><td>${p.id} <span class="muted">${p.displayName}</span></td><td>${p.version}</td>
        <td>${p.kind}</td><td class=${p.state === 'failed' ? 'error' : ''}>${p.state}${'error' in p && p.error ? `: ${p.error}` : ''}</td></tr>`,
    )}
    </tbody></table></div></section>`,
  refreshOn: always,
};
