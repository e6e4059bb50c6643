/**
 * The API's shapes as zod schemas, one definition each: the routes answer with them (and the
 * OpenAPI document shows them), and the CLI, the dashboard's types and the tests use the types
 * inferred from them. No fastify here: `cli/` may import this.
 */

export * from './agents.ts';
export * from './board.ts';
export * from './common.ts';
export * from './config.ts';
export * from './event-line.ts';
export * from './events.ts';
export * from './materials.ts';
export * from './notifications.ts';
export * from './runs.ts';
export * from './system.ts';
