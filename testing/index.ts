/**
 * The plugin conformance kit: call it from vitest or node:test with your plugin and sample
 * configurations; it checks the contract and reports every violation at once.
 * @module hoist/testing
 */

export { loadExecPlugin } from '../server/plugins/exec-plugin.ts';
export {
  assertPluginConformance,
  type ConformanceCase,
  type ConformanceOptions,
  type ConformanceReport,
  checkPluginConformance,
} from './conformance.ts';
