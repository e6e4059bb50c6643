// @ts-check
// A run's value stream as a graph: the package, then the runs that carried it, column by column
// (upstream before downstream, fan-in included), rollbacks marked, edges drawn between them.
import { html, nothing, render, svg } from 'lit-html';
import { api, enc } from '../api.js';
import { externalLink } from '../links.js';
import { when } from '../time.js';
import { badge, breadcrumb, runHref, stageChip, triggerText } from './parts.js';
import { always, RUN_EVENTS } from './view.js';

/** @typedef {import('../../../../docs/api/hoist-api').components['schemas']} Schemas */
/** @typedef {Schemas['ValueStream']} ValueStream */
/** @typedef {Schemas['StreamRun']} StreamRun */
/** @typedef {Schemas['StreamPackage']} StreamPackage */

/** @type {import('./view.js').View<ValueStream>} */
export const valueStreamView = {
  title: ([p, c]) => `Value stream of ${p} #${c}`,
  load: ([p = '', c = '']) => api('GET', `/api/value-stream/${enc(p)}/${enc(c)}`),
  render: (stream) => {
    const columns = Math.max(0, ...stream.runs.map((r) => r.column));
    const runsIn = (/** @type {number} */ n) => stream.runs.filter((r) => r.column === n);
    return html`${breadcrumb([
      ['Pipelines', '#/pipelines'],
      [`${stream.pipeline} #${stream.counter}`, runHref(stream.pipeline, stream.counter)],
      ['Value stream'],
    ])}
      <section class="card" aria-label="Value stream">
        <h2>Value stream of ${stream.pipeline} #${stream.counter}</h2>
        <div class="graph-scroll"><div class="graph">
          <div class="column" role="list" aria-label="Packages">
            <h3>Package</h3>${stream.packages.map(packageNode)}
          </div>
          ${Array.from({ length: columns }, (_, i) => {
            const runs = runsIn(i + 1);
            const names = [...new Set(runs.map((r) => r.pipeline))].join(' · ');
            return html`<div class="column" role="list" aria-label=${`Runs of ${names}`}>
              <h3>${names}</h3>${runs.map(runNode)}
            </div>`;
          })}
          <svg class="edges" aria-hidden="true"></svg>
        </div></div>
        <p class="muted">Every run that carried ${stream.packages.length === 1 ? 'this revision' : 'these revisions'}, and the upstream runs each came through.</p>
      </section>`;
  },
  refreshOn: (e) => always(e) || RUN_EVENTS.has(e.type),
  afterRender: (root, stream) => drawEdges(root, stream),
};

/** @param {StreamPackage} p */
const packageNode = (p) => html`<div class="node package-node" role="listitem" data-node=${p.id}>
  <div class="muted">${p.material}</div>
  <strong class="label">${p.revision.revision}</strong>
  ${p.revision.comment ? html`<div class="summary">${p.revision.comment}</div>` : nothing}
  <div class="muted">built ${when(p.revision.data?.BUILD_TIME ?? p.revision.timestamp)}</div>
  <div class="muted packager">by ${p.revision.user ?? 'unknown'}</div>
  ${p.revision.trackbackUrl ? html`<div class="trackback">${externalLink(p.revision.trackbackUrl)}</div>` : nothing}
</div>`;

/** @param {StreamRun} r */
const runNode = (
  r,
) => html`<div class="node run-node${r.current ? ' current' : ''}" role="listitem" data-node=${r.id}
    aria-current=${r.current ? 'true' : 'false'}>
  <a href=${runHref(r.pipeline, r.counter)}>${r.pipeline} #${r.counter}</a>
  <div>${badge(r.status)} ${r.rollback ? html`<span class="badge rollback" title="a pinned run of an older package">rollback</span>` : nothing}</div>
  <div class="muted">${triggerText(r)} · ${when(r.createdAt)}</div>
  <div class="stages">${r.stages.map((s) => html`<span class="stage-cell">${stageChip(s)}</span>`)}</div>
</div>`;

/**
 * The edges, drawn once the nodes are laid out: from the right of a source to the left of its
 * target, in the graph's own coordinates (it scrolls sideways on a phone).
 * @param {HTMLElement} root
 * @param {ValueStream} stream
 */
function drawEdges(root, stream) {
  const graph = /** @type {HTMLElement | null} */ (root.querySelector('.graph'));
  const layer = root.querySelector('svg.edges');
  if (!graph || !layer) return;
  const box = graph.getBoundingClientRect();
  /** @type {Map<string, DOMRect>} */
  const at = new Map();
  for (const node of graph.querySelectorAll('[data-node]'))
    at.set(/** @type {HTMLElement} */ (node).dataset.node ?? '', node.getBoundingClientRect());
  layer.setAttribute('width', String(graph.scrollWidth));
  layer.setAttribute('height', String(graph.scrollHeight));
  const paths = stream.edges.flatMap(({ from, to }) => {
    const a = at.get(from);
    const b = at.get(to);
    if (!a || !b) return [];
    const x1 = a.right - box.left;
    const y1 = a.top + a.height / 2 - box.top;
    const x2 = b.left - box.left;
    const y2 = b.top + b.height / 2 - box.top;
    const bend = Math.max(20, (x2 - x1) / 2);
    return [
      svg`<path d=${`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`} marker-end="url(#arrow)"></path>`,
    ];
  });
  render(
    svg`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"></path></marker></defs>${paths}`,
    /** @type {SVGElement} */ (/** @type {unknown} */ (layer)),
  );
}
