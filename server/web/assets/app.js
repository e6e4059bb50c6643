// Hoist dashboard: plain ES module, no build step. The token stays in this browser session only.
// @ts-check
// Types: the API's own, generated from its OpenAPI document (docs/api/hoist-api.d.ts), checked by
// `npm run typecheck` (tsconfig.web.json).
/** @typedef {import('../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {Schemas['Run']} Run */
/** @typedef {Schemas['PipelineView']} PipelineView */
/** @typedef {Schemas['Material']} Material */
/** @typedef {Schemas['Instance']} Instance */
/** @typedef {Schemas['Plugin']} PluginInfo */
/** @typedef {Schemas['Principal']} Principal */
/** @typedef {Schemas['PinChoices']} PinChoices */
/** @typedef {Schemas['Promotion']} Promotion */
const main = document.getElementById('main');
const who = document.getElementById('who');
const RANK = { viewer: 0, operator: 1, admin: 2 };
/** @type {Principal | null} */
let me = null;
let timer = null;
// Bumped when the view changes or a picker opens: a refresh begun before then must not redraw.
let generation = 0;

const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const enc = encodeURIComponent;
const can = (role) => me && RANK[me.role] >= RANK[role];

async function api(method, path, body) {
  const token = sessionStorage.getItem('hoist-token');
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 401) {
    sessionStorage.removeItem('hoist-token');
    me = null;
    throw new Error('unauthenticated');
  }
  const type = response.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

function login(message = '') {
  clearInterval(timer);
  who.textContent = '';
  main.innerHTML = `<section class="card"><h2>Sign in</h2>
    <form class="login"><label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button class="primary" type="submit">Sign in</button>
    <p class="error" role="alert">${esc(message)}</p></form></section>`;
  main.querySelector('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    sessionStorage.setItem(
      'hoist-token',
      /** @type {HTMLInputElement} */ (main.querySelector('#token')).value.trim(),
    );
    await start(true);
  });
}

async function start(attempted = false) {
  if (!sessionStorage.getItem('hoist-token')) return login();
  try {
    me = await api('GET', '/api/whoami');
  } catch {
    return login(attempted ? 'That token was refused.' : '');
  }
  who.innerHTML = `${esc(me.name)} (${esc(me.role)}) <button type="button" id="signout" aria-label="Sign out">Sign out</button>`;
  who.querySelector('#signout').addEventListener('click', () => {
    sessionStorage.removeItem('hoist-token');
    login();
  });
  route();
}

function route() {
  clearInterval(timer);
  generation++;
  const [, view, ...args] = (location.hash || '#/pipelines').split('/');
  const render = { pipelines, materials, run: runView, log: logView }[view] ?? pipelines;
  const refresh = () =>
    render(...args.map(decodeURIComponent)).catch((error) =>
      error.message === 'unauthenticated' ? login() : show(error),
    );
  refresh();
  timer = setInterval(refresh, 2000);
}

function show(error) {
  main.innerHTML = `<p class="error" role="alert">${esc(error.message)}</p>`;
}

/** @param {Run} run */
function stageChips(run) {
  return run.stages
    .map((s) => {
      const approve =
        s.status === 'awaiting_approval' && can('operator')
          ? ` <button type="button" data-act="approve" data-p="${esc(run.pipeline)}" data-c="${run.counter}" data-s="${esc(s.name)}" aria-label="Approve ${esc(s.name)} of ${esc(run.pipeline)} ${run.counter}">Approve</button>`
          : '';
      const rerun =
        (s.status === 'failed' || s.status === 'cancelled') && can('operator')
          ? ` <button type="button" data-act="rerun" data-p="${esc(run.pipeline)}" data-c="${run.counter}" data-s="${esc(s.name)}" aria-label="Run ${esc(s.name)} of ${esc(run.pipeline)} ${run.counter} again">Re-run</button>`
          : '';
      const approved = s.approvedBy ? ` <span class="muted">by ${esc(s.approvedBy)}</span>` : '';
      const jobs = s.jobs
        .map(
          (j) =>
            `<a href="#/log/${enc(run.pipeline)}/${run.counter}/${enc(s.name)}/${enc(j.name)}" aria-label="Log of ${esc(j.name)}">${esc(j.name)}</a>`,
        )
        .join(' ');
      return `<span><span class="stage ${esc(s.status)}" title="${esc(s.status)}">${esc(s.name)}: ${esc(s.status.replace('_', ' '))}</span>${approved}${approve}${rerun} <span class="muted">${jobs}</span></span>`;
    })
    .join('');
}

// Pipeline locks: who holds a pipeline's lock (with Unlock for the lock a failed run keeps), and
// why a run waits for it.
/** @param {PipelineView} p */
function lockBadge(p) {
  if (!p.locked) return '';
  const failed = p.locked.state === 'failed';
  const unlock =
    failed && can('operator')
      ? ` <button type="button" data-act="unlock" data-p="${esc(p.name)}" aria-label="Unlock ${esc(p.name)}">Unlock</button>`
      : '';
  return ` <span class="badge lock ${failed ? 'failed' : 'building'}" title="lock: ${esc(p.lock)}">locked by #${esc(p.locked.heldBy)}${failed ? ' (failed)' : ''}</span>${unlock}`;
}

/** @param {Run} run */
function lockWait(run) {
  return run.waitingFor
    ? `<div class="lock-wait" role="status">Waiting for ${esc(run.waitingFor)}</div>`
    : '';
}

/** @param {Run} run */
const revisionsOf = (run) =>
  Object.entries(run.cause.packages)
    .map(([m, r]) => `${esc(m)} <strong>${esc(r.revision)}</strong>`)
    .join(', ');

// A pipeline's timer (its next and last firing) and the template it comes from, with its values.
/** @param {PipelineView} p */
function timerAndTemplate(p) {
  const parts = [];
  if (p.template) {
    const values = Object.entries(p.parameters ?? {})
      .map(([k, v]) => `${esc(k)}=<strong>${esc(v)}</strong>`)
      .join(', ');
    parts.push(`from template <strong>${esc(p.template)}</strong>${values ? ` (${values})` : ''}`);
  }
  if (p.timer) {
    // In the timer's own time zone, so that it reads as its cron expression does.
    const when = (iso) =>
      iso
        ? new Date(iso).toLocaleString(undefined, {
            timeZone: p.timer.timezone,
            timeZoneName: 'short',
          })
        : 'never';
    const last = p.lastTimer
      ? ` · last ${esc(when(p.lastTimer.at))}: ${esc(p.lastTimer.counter ? `scheduled #${p.lastTimer.counter}` : p.lastTimer.outcome)}`
      : '';
    parts.push(
      `timer <code>${esc(p.timer.cron)}</code> ${esc(p.timer.timezone)}${p.timer.onlyOnChanges ? ' (only on changes)' : ''} · next <time datetime="${esc(p.nextTimer ?? '')}">${esc(when(p.nextTimer))}</time>${last}`,
    );
  }
  return parts.length > 0 ? `<p class="muted timer">${parts.join(' · ')}</p>` : '';
}

/**
 * A pipeline's own variables, secure ones by name only (the API never sends their values), and
 * how many its stages and jobs add.
 */
/** @param {PipelineView} p */
function variablesLine(p) {
  const count = (level) => Object.keys({ ...level.variables, ...level.secureVariables }).length;
  const plain = Object.entries(p.variables ?? {}).map(([k, v]) => `${esc(k)}=${esc(v)}`);
  const secure = Object.keys(p.secureVariables ?? {}).map(
    (k) => `${esc(k)} <span class="muted">(secure)</span>`,
  );
  const inner = (p.stages ?? []).reduce(
    (n, s) => n + count(s) + (s.jobs ?? []).reduce((m, j) => m + count(j), 0),
    0,
  );
  if (plain.length + secure.length + inner === 0) return '';
  const more = inner ? ` <span class="muted">+ ${inner} at stage or job level</span>` : '';
  return `<p class="vars" aria-label="Variables of ${esc(p.name)}">variables: ${[...plain, ...secure].join(', ') || '—'}${more}</p>`;
}

async function pipelines() {
  const mine = generation;
  /** @type {PipelineView[]} */
  const list = await api('GET', '/api/pipelines');
  const runs = await Promise.all(
    list.map((p) => api('GET', `/api/pipelines/${enc(p.name)}/runs?limit=5`)),
  );
  if (mine !== generation) return;
  main.innerHTML =
    list
      .map((p, i) => {
        const actions = can('operator')
          ? `<button type="button" data-act="schedule" data-p="${esc(p.name)}" aria-label="Run ${esc(p.name)} now">Run now</button>
           <button type="button" data-act="pick" data-p="${esc(p.name)}" aria-label="Run ${esc(p.name)} with a chosen revision">Run with revision…</button>
           <button type="button" data-act="${p.paused ? 'unpause' : 'pause'}" data-p="${esc(p.name)}" aria-label="${p.paused ? 'Unpause' : 'Pause'} ${esc(p.name)}">${p.paused ? 'Unpause' : 'Pause'}</button>`
          : '';
        const rows = runs[i]
          .map((r) => {
            const cancel =
              (r.status === 'building' || r.status === 'waiting') && can('operator')
                ? `<button type="button" data-act="cancel" data-p="${esc(r.pipeline)}" data-c="${r.counter}" aria-label="Cancel ${esc(r.pipeline)} ${r.counter}">Cancel</button>`
                : '';
            return `<div class="run" data-run="${esc(r.pipeline)}/${r.counter}">
            <div class="meta"><a href="#/run/${enc(r.pipeline)}/${r.counter}">#${r.counter}</a>
              <span class="badge ${esc(r.status)}">${esc(r.status)}</span> <span class="muted">${esc(r.trigger)}${r.triggeredBy ? ` by ${esc(r.triggeredBy)}` : ''}</span>
              <div class="muted">${revisionsOf(r)}</div>${lockWait(r)}</div>
            <div class="stages">${stageChips(r)}</div> ${cancel}</div>`;
          })
          .join('');
        return `<section class="card" aria-label="Pipeline ${esc(p.name)}"><h2>${esc(p.name)} ${p.paused ? '<span class="badge cancelled">paused</span>' : ''}${lockBadge(p)} ${actions}</h2>${timerAndTemplate(p)}
        ${variablesLine(p)}<div class="picker" data-for="${esc(p.name)}"></div>${rows || '<p class="muted">No runs yet.</p>'}</section>`;
      })
      .join('') || '<p>No pipelines configured.</p>';
}

async function openPicker(name) {
  clearInterval(timer);
  generation++;
  const box = main.querySelector(`.picker[data-for="${CSS.escape(name)}"]`);
  /** @type {PinChoices} */
  const { packages } = await api('GET', `/api/pipelines/${enc(name)}/candidates`);
  if (packages.length === 0) {
    box.innerHTML = '<p class="muted">This pipeline has no package to pin.</p>';
    return;
  }
  // A package that comes through an upstream pipeline offers only the revisions that passed there.
  const field = (p, i) => {
    const id = `pin-${esc(name)}-${i}`;
    const where = p.via ? ` (passed ${esc(p.via)})` : '';
    const options = p.revisions
      .map(
        (r) =>
          `<option value="${esc(r.revision)}">${esc(r.revision)}${r.upstream ? ` — ${esc(r.upstream)}` : ''}</option>`,
      )
      .join('');
    const none = p.revisions.length === 0 ? '<option value="">no revision yet</option>' : '';
    return `<label for="${id}">Revision of ${esc(p.material)}${where}</label>
      <select id="${id}" data-material="${esc(p.material)}">${i === 0 ? '' : '<option value="">as it comes</option>'}${none}${options}</select>`;
  };
  box.innerHTML = `<form class="pin">${packages.map(field).join('')}
    <button class="primary" type="submit" aria-label="Run ${esc(name)} with the chosen revision">Run</button>
    <button type="button" data-act="close">Close</button></form>`;
  box.querySelector('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const revisions = {};
    for (const select of box.querySelectorAll('select')) {
      if (select.value) revisions[select.dataset.material] = select.value;
    }
    try {
      await api('POST', `/api/pipelines/${enc(name)}/schedule`, { revisions });
      route();
    } catch (error) {
      show(error);
    }
  });
}

async function materials() {
  /** @type {[Material[], Instance[], PluginInfo[]]} */
  const [list, instances, plugins] = await Promise.all([
    api('GET', '/api/materials?checks=5'),
    api('GET', '/api/instances'),
    api('GET', '/api/plugins'),
  ]);
  const repos = [...new Set(list.map((m) => m.repository))];
  main.innerHTML = `<section class="card"><h2>Materials ${can('operator') ? repos.map((r) => `<button type="button" data-act="check" data-r="${esc(r)}" aria-label="Check ${esc(r)} now">Check ${esc(r)} now</button>`).join(' ') : ''}</h2>
    <table><thead><tr><th>Material</th><th>Latest revision</th><th>Last check</th><th>Next check</th><th>Last error</th></tr></thead><tbody>
    ${list
      .map(
        (
          m,
        ) => `<tr><td>${esc(m.repository)}/${esc(m.package)}</td><td>${esc(m.latestRevision?.revision ?? '—')}</td>
      <td>${m.lastCheck ? `${esc(new Date(m.lastCheck.startedAt).toLocaleString())}<div class="muted">${esc(m.lastCheck.decision)}</div>` : '—'}
        <details><summary>Recent checks</summary><ul>${m.recentChecks.map((c) => `<li>${esc(c.startedAt)} ${esc(c.outcome)}: ${esc(c.decision)}</li>`).join('')}</ul></details></td>
      <td>${esc(m.nextCheckAt ? new Date(m.nextCheckAt).toLocaleString() : 'on demand')}</td><td class="error">${esc(m.lastError ?? '')}</td></tr>`,
      )
      .join('')}
    </tbody></table></section>
    <section class="card" aria-label="Instances"><h2>Instances</h2>
    <table><thead><tr><th>Instance</th><th>URL</th><th>Alive</th><th>Last heartbeat</th><th>Checking</th><th>Runs</th></tr></thead><tbody>
    ${instances
      .map(
        (
          i,
        ) => `<tr><td>${esc(i.id)}${i.self ? ' <span class="muted">(this one)</span>' : ''}</td><td>${esc(i.url)}</td>
      <td class="${i.alive ? '' : 'error'}">${i.alive ? 'yes' : 'no'}</td><td>${esc(new Date(i.heartbeatAt).toLocaleString())}</td>
      <td>${i.materials.length}</td><td>${esc(i.runs.join(' ') || '—')}</td></tr>`,
      )
      .join('')}
    </tbody></table></section>${pluginsCard(plugins)}`;
}

/**
 * The plugins and their state: one that failed to load says why (its materials fail with it).
 * @param {PluginInfo[]} plugins
 */
function pluginsCard(plugins) {
  return `<section class="card" aria-label="Plugins"><h2>Plugins</h2>
    <table><thead><tr><th>Plugin</th><th>Version</th><th>Kind</th><th>State</th></tr></thead><tbody>
    ${plugins
      .map(
        (
          p,
        ) => `<tr><td>${esc(p.id)} <span class="muted">${esc(p.displayName)}</span></td><td>${esc(p.version)}</td>
      <td>${esc(p.kind)}</td><td class="${p.state === 'failed' ? 'error' : ''}">${esc(p.state)}${'error' in p && p.error ? `: ${esc(p.error)}` : ''}</td></tr>`,
      )
      .join('')}
    </tbody></table></section>`;
}

async function runView(pipeline, counter) {
  /** @type {Run} */
  const run = await api('GET', `/api/pipelines/${enc(pipeline)}/runs/${counter}`);
  const material = Object.keys(run.cause.packages)[0];
  const revision = run.cause.packages[material];
  /** @type {Promotion[]} */
  const history = material ? await api('GET', `/api/promotions?material=${enc(material)}`) : [];
  const carried = (history.find((h) => h.revision === revision?.revision)?.runs ?? []).filter(
    (r) => !(r.pipeline === run.pipeline && r.counter === run.counter),
  );
  const node = (
    r,
    current = false,
  ) => `<div class="node${current ? ' current' : ''}"><a href="#/run/${enc(r.pipeline)}/${r.counter}">${esc(r.pipeline)} #${r.counter}</a>
    <div><span class="badge ${esc(r.status)}">${esc(r.status)}</span></div>
    <div class="stages">${r.stages.map((s) => `<span class="stage ${esc(s.status)}">${esc(s.name)}</span>${s.approvedBy ? `<span class="muted">by ${esc(s.approvedBy)}</span>` : ''}`).join('')}</div></div>`;
  main.innerHTML = `<section class="card" aria-label="Value stream"><h2>Value stream of ${esc(pipeline)} #${esc(counter)}</h2>
    <div class="stream">
      <div class="node"><strong>${esc(material ?? 'no package')}</strong>
        ${
          revision
            ? `<div>${esc(revision.revision)}</div><div class="muted">built ${esc(revision.data?.BUILD_TIME ?? revision.timestamp)}</div>
        <div class="muted">by ${esc(revision.user ?? 'unknown')}</div>${revision.trackbackUrl ? `<a href="${esc(revision.trackbackUrl)}" rel="noopener">trackback</a>` : ''}`
            : ''
        }</div>
      ${[run, ...carried]
        .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)))
        .map((r) => `<span class="arrow" aria-hidden="true">→</span>${node(r, r === run)}`)
        .join('')}
    </div>${lockWait(run)}<div class="run">${stageChips(run)}</div></section>`;
}

async function logView(pipeline, counter, stage, job) {
  const text = await api(
    'GET',
    `/api/pipelines/${enc(pipeline)}/runs/${counter}/stages/${enc(stage)}/jobs/${enc(job)}/log`,
  );
  main.innerHTML = `<section class="card"><h2>${esc(pipeline)} #${esc(counter)} ${esc(stage)} / ${esc(job)}</h2><pre class="log" aria-label="Job log">${esc(text)}</pre></section>`;
}

main.addEventListener('click', async (event) => {
  const button = /** @type {HTMLElement | null} */ (
    /** @type {HTMLElement} */ (event.target).closest('button[data-act]')
  );
  if (!button) return;
  const { act, p, c, s, r } = button.dataset;
  try {
    if (act === 'approve')
      await api('POST', `/api/pipelines/${enc(p)}/runs/${c}/stages/${enc(s)}/approve`, {});
    else if (act === 'rerun')
      await api('POST', `/api/pipelines/${enc(p)}/runs/${c}/stages/${enc(s)}/run`);
    else if (act === 'cancel') await api('POST', `/api/pipelines/${enc(p)}/runs/${c}/cancel`);
    else if (act === 'schedule')
      await api('POST', `/api/pipelines/${enc(p)}/schedule`, { revisions: {} });
    else if (act === 'pause' || act === 'unpause')
      await api('POST', `/api/pipelines/${enc(p)}/${act}`);
    else if (act === 'check') await api('POST', '/api/materials/check', { repository: r });
    else if (act === 'unlock') await api('POST', `/api/pipelines/${enc(p)}/unlock`);
    else if (act === 'pick') return void (await openPicker(p));
    else if (act === 'close') return route();
    route();
  } catch (error) {
    show(error);
  }
});

window.addEventListener('hashchange', () => me && route());
start();
