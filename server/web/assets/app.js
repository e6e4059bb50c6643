// @ts-check
// Hoist dashboard: plain ES modules (lit-html templates, which escape every value), no build step.
// Types: the API's own, generated from its OpenAPI document (docs/api/hoist-api.d.ts), checked by
// `npm run typecheck` (tsconfig.web.json).
import { html, nothing, render } from 'lit-html';
import { api, can, forgetToken, keepToken, session, token, Unauthenticated } from './api.js';
import { liveEvents } from './events.js';
import { agentsView } from './views/agents.js';
import { boardView } from './views/board.js';
import { jobView } from './views/job.js';
import { materialsView } from './views/materials.js';
import { notificationsView } from './views/notifications.js';
import { pluginsView } from './views/plugins.js';
import { runView } from './views/run.js';
import { valueStreamView } from './views/value-stream.js';

/** @typedef {import('./events.js').HoistEvent} HoistEvent */
/** @typedef {import('./events.js').LiveState} LiveState */

/**
 * The views by the first part of `location.hash` (`#/run/build/3`): a new view is one module
 * under views/ and one entry here (a view with `nav` is listed in the header, in this order).
 * @type {Record<string, import('./views/view.js').View<any>>}
 */
const VIEWS = {
  pipelines: boardView,
  run: runView,
  'value-stream': valueStreamView,
  job: jobView,
  log: jobView,
  materials: materialsView,
  plugins: pluginsView,
  notifications: notificationsView,
  agents: agentsView,
};

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
const nav = /** @type {HTMLElement} */ (document.getElementById('views'));
const DEBOUNCE_MS = 100;
/** Relative times are redrawn this often, from the data already read. */
const CLOCK_MS = 15_000;

/** What is shown: the view, its arguments, the last data read, and the last error. */
const current = {
  name: '',
  /** @type {import('./views/view.js').View<any>} */
  view: boardView,
  /** @type {string[]} */
  args: [],
  /** @type {unknown} */
  data: undefined,
  /** @type {string} */
  error: '',
  generation: 0,
};
/** @type {LiveState} */
let live = 'connecting';
/** @type {{ stop(): void } | undefined} */
let stream;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let pending;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let follow;

/** @type {import('./views/view.js').Ui} */
const ui = {
  redraw: () => draw(),
  refresh: () => refresh(),
  async act(call) {
    try {
      await call();
      current.error = '';
    } catch (error) {
      if (error instanceof Unauthenticated) return signIn();
      current.error = error instanceof Error ? error.message : String(error);
    }
    draw();
    refresh();
  },
};

function draw() {
  if (!session.me) return;
  const { view, args, data, error } = current;
  render(
    html`${error ? html`<p class="error flash" role="alert">${error}</p>` : nothing}
      ${data === undefined ? html`<p class="muted">Loading…</p>` : view.render(data, args, ui)}`,
    main,
  );
  if (data !== undefined) view.afterRender?.(main, data);
}

/** Reads the view's aggregate and draws it; a read begun before a change of view is dropped. */
async function refresh() {
  clearTimeout(follow);
  const mine = current.generation;
  try {
    const data = await current.view.load(current.args);
    if (mine !== current.generation) return;
    current.data = data;
    draw();
    const every = current.view.followMs?.(data);
    if (every) follow = setTimeout(refresh, every);
  } catch (error) {
    if (mine !== current.generation) return;
    if (error instanceof Unauthenticated) return signIn();
    current.error = error instanceof Error ? error.message : String(error);
    draw();
  }
}

/** @param {HoistEvent} event */
function onEvent(event) {
  if (!current.view.refreshOn(event, current.args)) return;
  clearTimeout(pending);
  pending = setTimeout(refresh, DEBOUNCE_MS);
}

function route() {
  const [, name = 'pipelines', ...rest] = (location.hash || '#/pipelines').split('/');
  const view = VIEWS[name] ?? boardView;
  current.generation++;
  Object.assign(current, {
    name,
    view,
    args: rest.map(decodeURIComponent),
    data: undefined,
    error: '',
  });
  document.title = `${view.title(current.args)} · Hoist`;
  drawNav();
  window.scrollTo(0, 0);
  draw();
  refresh();
}

/** The header's links to the views that have `nav`, the current one marked. */
function drawNav() {
  render(
    Object.entries(VIEWS)
      .filter(([, view]) => view.nav && can(view.role ?? 'viewer'))
      .map(
        ([name, view]) =>
          html`<a href=${`#/${name}`} aria-current=${current.view === view ? 'page' : 'false'}>${view.nav}</a>`,
      ),
    nav,
  );
}

/** @param {LiveState} state */
function showLive(state) {
  live = state;
  drawWho();
}

function drawWho() {
  const me = session.me;
  render(
    me
      ? html`<span class="live ${live}" title=${liveTitle[live]}>${live}</span>
          <span>${me.name} (${me.role})</span>
          <button type="button" @click=${signOut}>Sign out</button>`
      : nothing,
    who,
  );
}

/** @type {Record<LiveState, string>} */
const liveTitle = {
  connecting: 'connecting to the event stream',
  live: 'updated as events arrive',
  polling: 'this server has no event stream: read again every 2 s',
  reconnecting: 'the event stream dropped: reconnecting',
  stopped: '',
};

function signOut() {
  forgetToken();
  signIn();
}

/** The sign-in form (also after a refused token). @param {string} [message] */
function signIn(message = '') {
  stream?.stop();
  stream = undefined;
  session.me = null;
  drawWho();
  /** @param {SubmitEvent} event */
  const submit = async (event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    keepToken(/** @type {HTMLInputElement} */ (form.elements.namedItem('token')).value.trim());
    await start(true);
  };
  render(
    html`<section class="card signin"><h2>Sign in</h2>
      <form class="login" @submit=${submit}><label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required>
      <button class="primary" type="submit">Sign in</button>
      <p class="error" role="alert">${message}</p></form></section>`,
    main,
  );
}

/** @param {boolean} [attempted] */
async function start(attempted = false) {
  if (!token()) return signIn();
  try {
    session.me = await api('GET', '/api/whoami');
  } catch {
    return signIn(attempted ? 'That token was refused.' : '');
  }
  drawWho();
  stream = liveEvents({ token, onEvent, onState: showLive });
  route();
}

window.addEventListener('hashchange', () => session.me && route());
// The page's own "Loading…" goes: from here on lit-html renders what is in <main>.
main.replaceChildren();
setInterval(() => session.me && current.data !== undefined && draw(), CLOCK_MS);
/** @type {ReturnType<typeof setTimeout> | undefined} */
let resizing;
// A graph's edges follow its nodes when the window's width changes.
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => current.data !== undefined && draw(), 100);
});
start();
