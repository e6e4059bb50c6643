// @ts-check
// The delivery board: pipelines grouped and ordered by their dependencies, each run with its
// start, duration, trigger, approvals and package; actions (buttons) apart from links.
import { html, nothing } from 'lit-html';
import { api, can, enc } from '../api.js';
import { when } from '../time.js';
import { runActions } from './actions.js';
import {
  agentWaits,
  badge,
  jobHref,
  packagesOf,
  runHref,
  runTimes,
  stageChip,
  streamHref,
  triggerText,
} from './parts.js';
import { openPicker, picker } from './picker.js';
import { always, RUN_EVENTS } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {Schemas['Board']} Board */
/** @typedef {Schemas['BoardPipeline']} BoardPipeline */
/** @typedef {Schemas['PipelineView']} PipelineView */
/** @typedef {Schemas['Run']} Run */
/** @typedef {import('./view.js').Ui} Ui */

/** @type {import('./view.js').View<Board>} */
export const boardView = {
  title: () => 'Pipelines',
  nav: 'Pipelines',
  load: () => api('GET', '/api/board?runs=5'),
  render: (board, _args, ui) =>
    board.groups.length === 0
      ? html`<p>No pipelines configured.</p>`
      : board.groups.map((g) => group(g, ui)),
  refreshOn: (e) => always(e) || RUN_EVENTS.has(e.type),
};

/** @param {Board['groups'][number]} g @param {Ui} ui */
const group = (g, ui) =>
  html`<section class="group" aria-label=${`Delivery chain ${g.name}`}>
    ${
      g.pipelines.length > 1
        ? html`<h2 class="chain">${g.pipelines.map((p, i) => html`${i ? html`<span class="arrow" aria-hidden="true">→</span>` : nothing}<span>${p.pipeline.name}</span>`)}</h2>`
        : nothing
    }
    <div class="chain-cards">${g.pipelines.map((p) => card(p, ui))}</div>
  </section>`;

/** @param {BoardPipeline} entry @param {Ui} ui */
function card(entry, ui) {
  const p = entry.pipeline;
  const back = new Set(entry.rollbacks);
  return html`<section class="card pipeline" aria-label=${`Pipeline ${p.name}`}>
    <header class="pipeline-head">
      <h3>${p.name}</h3>
      ${p.paused ? html`<span class="badge cancelled">paused</span>` : nothing} ${lockBadge(p, ui)}
      ${
        entry.upstream.length
          ? html`<span class="muted deps">after ${entry.upstream.join(', ')}</span>`
          : nothing
      }
      ${pipelineActions(p, ui)}
    </header>
    ${p.schedulingError ? html`<p class="error">${p.schedulingError}</p>` : nothing}
    ${timerAndTemplate(p)} ${variablesLine(p)} ${picker(p.name, ui)}
    ${
      entry.runs.length === 0
        ? html`<p class="muted">No runs yet.</p>`
        : html`<ol class="runs">${entry.runs.map((r) => runRow(r, back.has(r.counter), ui))}</ol>`
    }
  </section>`;
}

/** @param {PipelineView} p @param {Ui} ui */
function pipelineActions(p, ui) {
  if (!can('operator')) return nothing;
  const post = (/** @type {string} */ path, /** @type {unknown} */ body) => () =>
    ui.act(() => api('POST', path, body));
  const path = `/api/pipelines/${enc(p.name)}`;
  return html`<div class="actions" role="group" aria-label=${`Actions on ${p.name}`}>
    <button type="button" class="action primary" aria-label=${`Run ${p.name} now`}
      @click=${post(`${path}/schedule`, { revisions: {} })}>Run now</button>
    <button type="button" class="action" aria-label=${`Run ${p.name} with a chosen revision`}
      @click=${() => openPicker(p.name, ui)}>Run with revision…</button>
    <button type="button" class="action" aria-label=${`${p.paused ? 'Unpause' : 'Pause'} ${p.name}`}
      @click=${post(`${path}/${p.paused ? 'unpause' : 'pause'}`)}>${p.paused ? 'Unpause' : 'Pause'}</button>
  </div>`;
}

/** Who holds the pipeline's lock; Unlock for the lock a failed run keeps. @param {PipelineView} p @param {Ui} ui */
function lockBadge(p, ui) {
  if (!p.locked) return nothing;
  const failed = p.locked.state === 'failed';
  return html`<span class="badge lock ${failed ? 'failed' : 'building'}" title=${`lock: ${p.lock}`}
      >locked by #${p.locked.heldBy}${failed ? ' (failed)' : ''}</span
    >${
      failed && can('operator')
        ? html` <button type="button" class="action" aria-label=${`Unlock ${p.name}`}
          @click=${() => ui.act(() => api('POST', `/api/pipelines/${enc(p.name)}/unlock`))}>Unlock</button>`
        : nothing
    }`;
}

/** @param {Run} r @param {boolean} rollback @param {Ui} ui */
function runRow(r, rollback, ui) {
  return html`<li class="run" data-run=${`${r.pipeline}/${r.counter}`}>
    <div class="run-head">
      <a class="counter" href=${runHref(r.pipeline, r.counter)} aria-label=${`Run ${r.pipeline} ${r.counter}`}>#${r.counter}</a>
      ${badge(r.status)} ${rollback ? html`<span class="badge rollback" title="a pinned run of an older package">rollback</span>` : nothing}
      ${packagesOf(r)}
    </div>
    <div class="muted run-meta">${triggerText(r)} · ${runTimes(r)}</div>
    ${r.waitingFor ? html`<div class="lock-wait" role="status">Waiting for ${r.waitingFor}</div>` : nothing}
    ${agentWaits(r)}
    <div class="stages">${r.stages.map((s) => html`<span class="stage-cell">${stageChip(s)}</span>`)}</div>
    ${runActions(r, ui)}
    <nav class="links" aria-label=${`Links of ${r.pipeline} ${r.counter}`}>
      <a href=${streamHref(r.pipeline, r.counter)}>value stream</a>
      ${r.stages.flatMap((s) =>
        s.jobs.map(
          (j) => html`<a href=${jobHref(r.pipeline, r.counter, s.name, j.name)}
            aria-label=${`Log of ${s.name}/${j.name} of ${r.pipeline} ${r.counter}`}>log ${s.name}/${j.name}</a>`,
        ),
      )}
    </nav>
  </li>`;
}

/** A pipeline's timer (next and last firing) and the template it comes from. @param {PipelineView} p */
function timerAndTemplate(p) {
  const parts = [];
  if (p.template) {
    const values = Object.entries(p.parameters ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    parts.push(html`from template <strong>${p.template}</strong>${values ? ` (${values})` : ''}`);
  }
  if (p.timer) {
    const last = p.lastTimer
      ? html` · last ${when(p.lastTimer.at)}: ${p.lastTimer.counter ? `scheduled #${p.lastTimer.counter}` : p.lastTimer.outcome}`
      : nothing;
    parts.push(
      html`timer <code>${p.timer.cron}</code> ${p.timer.timezone ?? ''}${p.timer.onlyOnChanges ? ' (only on changes)' : ''} · next ${p.nextTimer ? when(p.nextTimer) : 'never'}${last}`,
    );
  }
  return parts.length
    ? html`<p class="muted timer">${parts.map((part, i) => html`${i ? ' · ' : ''}${part}`)}</p>`
    : nothing;
}

/** A pipeline's own variables, secure ones by name only, and how many stages and jobs add. @param {PipelineView} p */
function variablesLine(p) {
  /** @param {{ variables?: object, secureVariables?: object }} level */
  const count = (level) => Object.keys({ ...level.variables, ...level.secureVariables }).length;
  const plain = Object.entries(p.variables ?? {}).map(([k, v]) => `${k}=${v}`);
  const secure = Object.keys(p.secureVariables ?? {}).map((k) => `${k} (secure)`);
  const inner = (p.stages ?? []).reduce(
    (n, s) => n + count(s) + (s.jobs ?? []).reduce((m, j) => m + count(j), 0),
    0,
  );
  if (plain.length + secure.length + inner === 0) return nothing;
  return html`<p class="vars" aria-label=${`Variables of ${p.name}`}>variables: ${[...plain, ...secure].join(', ') || '—'}${inner ? html` <span class="muted">+ ${inner} at stage or job level</span>` : nothing}</p>`;
}
