/**
 * Hoist's plugin contract: everything a repository plugin author needs. Depends on zod only.
 * @module hoist
 */
export * from './errors.ts';
export { answerGoCdRequest, type GoCdResponse } from './gocd/answer.ts';
export { parseLenientJson } from './gocd/lenient-json.ts';
export {
  fromGoCdConfigMap,
  fromGoCdRevision,
  GOCD_REQUEST_NAMES,
  type GoCdConfigMap,
  type GoCdProperty,
  type GoCdRequestName,
  type GoCdRevision,
  toGoCdConfigMap,
  toGoCdPreviousRevision,
  toGoCdProperties,
  toGoCdRevision,
} from './gocd/messages.ts';
export {
  readConnectionAnswer,
  readPropertiesAnswer,
  readRevisionAnswer,
  readValidationAnswer,
} from './gocd/responses.ts';
export { createMemoryState, type MemoryState } from './host/memory-state.ts';
export {
  type CallOptions,
  createPluginHost,
  DEFAULT_CALL_TIMEOUT_MS,
  type PluginCallEvent,
  type PluginCallHooks,
  type PluginHost,
  type PluginHostOptions,
} from './host/plugin-host.ts';
export {
  createPluginRegistry,
  createReloadableRegistry,
  type PluginRegistry,
  type ReloadableRegistry,
} from './host/registry.ts';
export { silentLogger } from './host/silent-logger.ts';
export { secureValues, validateAgainstProperties, withDefaults } from './plugin/configuration.ts';
export { defineRepositoryPlugin, PLUGIN_ID } from './plugin/define.ts';
export {
  type EnvCollision,
  type EnvEntry,
  escapeEnvName,
  findEnvCollisions,
  findMaterialNameCollisions,
  type MaterialEnvInput,
  materialEnvironment,
  materialEnvName,
} from './plugin/environment.ts';
export { materialFingerprint } from './plugin/fingerprint.ts';
export { revisionProblem } from './plugin/revision.ts';
export * from './plugin/types.ts';
