// @ts-check
// A run: its stages in order with their jobs (status, exit code, duration), its actions, and the
// way back to the board.
import { html, nothing } from 'lit-html';
import { api, enc } from '../api.js';
import { took, when } from '../time.js';
import { runActions } from './actions.js';
import {
  badge,
  breadcrumb,
  jobHref,
  packagesOf,
  runTimes,
  stageChip,
  streamHref,
  triggerText,
} from './parts.js';
import { always, RUN_EVENTS } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['Run']} Run */

/** @type {import('./view.js').View<Run>} */
export const runView = {
  title: ([p, c]) => `${p} #${c}`,
  load: ([p, c]) => api('GET', `/api/pipelines/${enc(p ?? '')}/runs/${enc(c ?? '')}`),
  render: (run, _args, ui) => html`${breadcrumb([
    ['Pipelines', '#/pipelines'],
    [`${run.pipeline} #${run.counter}`],
  ])}
    <section class="card" aria-label=${`Run ${run.pipeline} ${run.counter}`}>
      <h2>${run.pipeline} #${run.counter} ${badge(run.status)}</h2>
      <p>${packagesOf(run)}</p>
      <p class="muted">${triggerText(run)} · ${runTimes(run)}</p>
      ${run.waitingFor ? html`<div class="lock-wait" role="status">Waiting for ${run.waitingFor}</div>` : nothing}
      ${runActions(run, ui)}
      <nav class="links"><a href=${streamHref(run.pipeline, run.counter)}>value stream</a></nav>
    </section>
    <section class="card" aria-label="Stage history">
      <h2>Stages</h2>
      <ol class="stage-history">${run.stages.map((s) => stage(run, s))}</ol>
    </section>`,
  refreshOn: (e, [p, c]) =>
    always(e) || (RUN_EVENTS.has(e.type) && e.pipeline === p && String(e.counter) === c),
};

/** @param {Run} run @param {Run['stages'][number]} s */
const stage = (run, s) => html`<li class="stage-entry">
  <div>${stageChip(s)} <span class="muted">${s.approval === 'manual' ? 'manual' : 'automatic'}${s.startedAt ? html` · started ${when(s.startedAt)} · ${took(s.startedAt, s.finishedAt)}` : nothing}</span></div>
  ${s.approvalComment ? html`<div class="muted">“${s.approvalComment}”</div>` : nothing}
  <table class="jobs"><thead><tr><th>Job</th><th>Status</th><th>Exit code</th><th>Duration</th></tr></thead>
  <tbody>${s.jobs.map(
    (j) => html`<tr>
      <td><a href=${jobHref(run.pipeline, run.counter, s.name, j.name)}>${j.name}</a></td>
      <td>${badge(j.status)}${j.error ? html`<div class="error">${j.error}</div>` : nothing}${j.waitingFor ? html`<div class="lock-wait" role="status">Waits: ${j.waitingFor}</div>` : nothing}</td>
      <td>${j.exitCode ?? '—'}</td><td>${took(j.startedAt, j.finishedAt)}</td></tr>`,
  )}</tbody></table>
</li>`;
