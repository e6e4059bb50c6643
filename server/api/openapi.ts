import type { FastifyInstance } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { jsonSchemaTransformObject, ResponseSerializationError } from 'fastify-type-provider-zod';
import type { OpenAPIV3 } from 'openapi-types';
import { type $ZodType, safeParse } from 'zod/v4/core';

/** The document's tags, in the order readers meet them. */
const TAGS: OpenAPIV3.TagObject[] = [
  {
    name: 'configuration',
    description: 'Repositories, packages and pipelines; applying hoist.yaml.',
  },
  { name: 'materials', description: 'Polled packages, their checks and revisions; check now.' },
  {
    name: 'runs',
    description: 'Pipeline runs: schedule, approve, re-run, cancel, pause, unlock, logs.',
  },
  { name: 'plugins', description: 'Package-repository plugins.' },
  { name: 'system', description: 'Health, identity, instances, audit log and metrics.' },
];

/** The `openapi` part of @fastify/swagger's options. */
export function openapiInfo(version: string): Partial<OpenAPIV3.Document> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hoist API',
      version,
      description:
        'Package-triggered continuous delivery. Every route but `/api/health` needs `Authorization: Bearer <token>`; errors are `{"error": {code, message, issues?}}`.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: TAGS,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token of hoist.yaml `auth.tokens`, or the admin token.',
        },
      },
    },
    security: [{ bearer: [] }],
  };
}

/** Marks a route whose JSON body may be left out (or empty): its requestBody is not required. */
export const OPTIONAL_BODY = { 'x-optional-body': true } as const;

/** Marks a route that takes a YAML text, or no body (read by its own content-type parser). */
export const YAML_BODY = { 'x-yaml-body': true } as const;

/** What a 2xx answer without a description of its own says. */
const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted' };

/**
 * The whole document: the shared shapes as components, each only once (the schemas' input forms
 * that no route uses are left out), optional bodies not required, YAML bodies described.
 */
export function transformObject(
  input: Parameters<typeof jsonSchemaTransformObject>[0],
): ReturnType<typeof jsonSchemaTransformObject> {
  const document = jsonSchemaTransformObject(input) as OpenAPIV3.Document;
  for (const item of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item?.[method];
      if (operation)
        finishOperation(operation as OpenAPIV3.OperationObject & Record<string, unknown>);
    }
  }
  pruneComponents(document);
  return document;
}

function finishOperation(operation: OpenAPIV3.OperationObject & Record<string, unknown>): void {
  if (operation['x-yaml-body']) {
    delete operation['x-yaml-body'];
    operation.requestBody = {
      required: false,
      description: 'A configuration as in hoist.yaml.',
      content: { 'application/yaml': { schema: { type: 'string' } } },
    };
  }
  if (operation['x-optional-body']) {
    delete operation['x-optional-body'];
    if (operation.requestBody && !('$ref' in operation.requestBody))
      operation.requestBody.required = false;
  }
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    if ('description' in response && response.description === 'Default Response')
      response.description = SUCCESS[status] ?? 'OK';
  }
}

/** Removes components that nothing references (repeated, for chains of references). */
function pruneComponents(document: OpenAPIV3.Document): void {
  const schemas = document.components?.schemas ?? {};
  for (let removed = true; removed; ) {
    removed = false;
    const text =
      JSON.stringify({ ...document, components: { ...document.components, schemas: {} } }) +
      JSON.stringify(schemas);
    for (const name of Object.keys(schemas)) {
      if (!text.includes(`"#/components/schemas/${name}"`)) {
        delete schemas[name];
        removed = true;
      }
    }
  }
}

/**
 * Answers are checked against their schema (an answer that does not match is a 500, as with the
 * type provider's own serializer) and sent as they are: a schema that lists fewer fields than an
 * answer has never drops any.
 */
export const serializerCompiler: FastifySerializerCompiler<$ZodType> =
  ({ schema, method, url }) =>
  (data) => {
    const result = safeParse(schema, data);
    if (result.error) throw new ResponseSerializationError(method, url, { cause: result.error });
    return JSON.stringify(data);
  };

/**
 * JSON bodies as fastify reads them, except that an empty body is no body: `curl -X POST -H
 * 'content-type: application/json'` works where no body is needed.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    return parse(request, body as string, done);
  });
}
