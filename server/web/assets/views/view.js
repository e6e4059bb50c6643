// @ts-check
// What a view is: one module under views/ and one entry in app.js's VIEWS.
/** @typedef {import('../events.js').HoistEvent} HoistEvent */

/**
 * What a view may ask of the page.
 * @typedef {{
 *   redraw(): void,
 *   refresh(): void,
 *   act(call: () => Promise<unknown>): Promise<void>,
 * }} Ui
 */

/**
 * A view: its one aggregated read, its template (lit-html: every value escaped), and which
 * events make it read again (debounced). With `nav` it is listed in the header under that name (for `role` and above). `followMs` reads again on a timer while it says so
 * (a growing log); `afterRender` runs after each render (drawing a graph's edges).
 * @template T
 * @typedef {{
 *   title: (args: string[]) => string,
 *   nav?: string,
 *   role?: 'viewer' | 'operator' | 'admin',
 *   load: (args: string[]) => Promise<T>,
 *   render: (data: T, args: string[], ui: Ui) => unknown,
 *   refreshOn: (event: HoistEvent, args: string[]) => boolean,
 *   followMs?: (data: T) => number | undefined,
 *   afterRender?: (root: HTMLElement, data: T) => void,
 * }} View
 */

/** Events that change runs: stages, jobs, approvals, new runs, new revisions. */
export const RUN_EVENTS = new Set([
  'material.revision',
  'run.created',
  'stage.started',
  'stage.awaiting',
  'stage.passed',
  'stage.failed',
  'stage.cancelled',
  'job.started',
  'job.finished',
  'approval.given',
]);

/** Events every view reads again on: polling's tick, a resumed stream. @param {HoistEvent} e */
export const always = (e) => e.type === 'poll' || e.type === 'reconnected';
