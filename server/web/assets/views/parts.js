// @ts-check
// Pieces the views share: status badges, stage chips, breadcrumbs, links to runs and jobs.
import { html, nothing } from 'lit-html';
import { enc } from '../api.js';
import { took, when } from '../time.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {Schemas['Run']} Run */
/** @typedef {Schemas['Stage']} Stage */

export const runHref = (/** @type {string} */ p, /** @type {number} */ c) => `#/run/${enc(p)}/${c}`;
export const streamHref = (/** @type {string} */ p, /** @type {number} */ c) =>
  `#/value-stream/${enc(p)}/${c}`;
export const jobHref = (
  /** @type {string} */ p,
  /** @type {number} */ c,
  /** @type {string} */ s,
  /** @type {string} */ j,
) => `#/job/${enc(p)}/${c}/${enc(s)}/${enc(j)}`;

/**
 * Why a run's jobs wait for an agent (none can run them yet), one line each.
 * @param {Run} run
 */
export const agentWaits = (run) =>
  run.stages.flatMap((s) =>
    s.jobs
      .filter((j) => j.waitingFor)
      .map(
        (j) =>
          html`<div class="lock-wait" role="status">${s.name}/${j.name} waits: ${j.waitingFor}</div>`,
      ),
  );

/** @param {string} status */
export const statusText = (status) => status.replace('_', ' ');

/** @param {string} status */
export const badge = (status) => html`<span class="badge ${status}">${statusText(status)}</span>`;

/**
 * A stage as a coloured chip, `verify: passed`, with who approved it.
 * @param {{ name: string, status: string, approvedBy: string | null, approvedAt: string | null }} stage
 */
export const stageChip = (stage) =>
  html`<span class="stage ${stage.status}" title=${statusText(stage.status)}
      >${stage.name}: ${statusText(stage.status)}</span
    >${
      stage.approvedBy
        ? html` <span class="muted approved">approved by ${stage.approvedBy} ${when(stage.approvedAt)}</span>`
        : nothing
    }`;

/** Who or what started a run. @param {Pick<Run, 'trigger' | 'triggeredBy'>} run */
export const triggerText = (run) =>
  run.triggeredBy ? `${run.trigger} by ${run.triggeredBy}` : run.trigger;

/** The package labels a run carries. @param {Run} run */
export const packagesOf = (run) =>
  Object.entries(run.cause.packages).map(
    ([material, r]) =>
      html`<span class="package"><span class="muted">${material}</span> <strong>${r.revision}</strong></span>`,
  );

/** When a run started and how long it took. @param {Pick<Run, 'createdAt' | 'finishedAt'>} run */
export const runTimes = (run) =>
  html`<span class="times">started ${when(run.createdAt)} · ${took(run.createdAt, run.finishedAt)}</span>`;

/**
 * A way back: the path to this page, each step a link.
 * @param {[string, string?][]} steps label and href (none for the current page)
 */
export const breadcrumb = (steps) =>
  html`<nav class="breadcrumb" aria-label="Breadcrumb"><ol>
    ${steps.map(([label, href]) =>
      href
        ? html`<li><a href=${href}>${label}</a></li>`
        : html`<li aria-current="page">${label}</li>`,
    )}
  </ol></nav>`;
