// @ts-check
// A job: its status, exit code and duration, and its log, followed while it grows.
import { html, nothing } from 'lit-html';
import { api, enc } from '../api.js';
import { took } from '../time.js';
import { badge, breadcrumb, runHref } from './parts.js';
import { always, RUN_EVENTS } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']['Run']} Run */
/** @typedef {{ run: Run, log: string }} JobPage */

/** Whether the log stays scrolled to its end as it grows (until the reader scrolls up). */
let following = true;
/** The job whose log that is: another job's log starts at its end again. */
let followed = '';
/** @param {Event} event */
const onScroll = (event) => {
  const pre = /** @type {HTMLElement} */ (event.currentTarget);
  following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
};

/** @param {string[]} args */
const job = ([, , stage, name], /** @type {Run} */ run) =>
  run.stages.find((s) => s.name === stage)?.jobs.find((j) => j.name === name);

/** @type {import('./view.js').View<JobPage>} */
export const jobView = {
  title: ([p, c, s, j]) => `${p} #${c} ${s}/${j}`,
  load: async ([p = '', c = '', s = '', j = '']) => {
    const base = `/api/pipelines/${enc(p)}/runs/${enc(c)}`;
    const [run, log] = await Promise.all([
      api('GET', base),
      api('GET', `${base}/stages/${enc(s)}/jobs/${enc(j)}/log`),
    ]);
    return { run, log };
  },
  render: ({ run, log }, args) => {
    const [p = '', c = '', s = '', j = ''] = args;
    const it = job(args, run);
    return html`${breadcrumb([
      ['Pipelines', '#/pipelines'],
      [`${p} #${c}`, runHref(p, Number(c))],
      [`${s} / ${j}`],
    ])}
      <section class="card" aria-label=${`Job ${s}/${j}`}>
        <h2>${p} #${c} ${s} / ${j} ${it ? badge(it.status) : nothing}</h2>
        ${
          it
            ? html`<p class="job-facts"><span>exit code <strong>${it.exitCode ?? '—'}</strong></span>
              <span>${took(it.startedAt, it.finishedAt)}</span>
              ${it.error ? html`<span class="error">${it.error}</span>` : nothing}
              ${it.waitingFor ? html`<span class="lock-wait" role="status">Waits: ${it.waitingFor}</span>` : nothing}
              ${it.status === 'building' ? html`<span class="muted" role="status">following the log…</span>` : nothing}</p>`
            : nothing
        }
        <pre class="log" aria-label="Job log" tabindex="0" @scroll=${onScroll}>${log}</pre>
      </section>`;
  },
  refreshOn: (e, [p, c]) =>
    always(e) || (RUN_EVENTS.has(e.type) && e.pipeline === p && String(e.counter) === c),
  afterRender: (root, { run }) => {
    const pre = root.querySelector('pre.log');
    const key = `${run.id} ${location.hash}`;
    if (key !== followed) [following, followed] = [true, key];
    if (pre && following) pre.scrollTop = pre.scrollHeight;
  },
  followMs: ({ run }) =>
    run.stages.some((s) => s.jobs.some((j) => j.status === 'building' || j.status === 'scheduled'))
      ? 1000
      : undefined,
};
