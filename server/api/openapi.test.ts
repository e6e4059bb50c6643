import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { acceptEmptyJson, serializerCompiler, transformObject } from './openapi.ts';

const serialize = (schema: z.ZodType, data: unknown) =>
  serializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' })(data);

describe('answers through their schema', () => {
  it('sends every field, also those the schema does not list', () => {
    const Shape = z.object({ name: z.string() });
    expect(JSON.parse(serialize(Shape, { name: 'a', extra: [1] }))).toEqual({
      name: 'a',
      extra: [1],
    });
  });

  it('refuses an answer that does not match its schema', () => {
    expect(() => serialize(z.object({ name: z.string() }), { name: 3 })).toThrow(
      /Response doesn't match the schema/,
    );
  });
});

describe('empty JSON bodies', () => {
  it('are no body; bad JSON is still refused', async () => {
    const app = Fastify();
    acceptEmptyJson(app);
    app.post('/x', async (req) => ({ body: req.body ?? 'none' }));
    const post = (payload: string) =>
      app.inject({
        method: 'POST',
        url: '/x',
        headers: { 'content-type': 'application/json' },
        payload,
      });
    expect((await post('')).json()).toEqual({ body: 'none' });
    expect((await post('  ')).json()).toEqual({ body: 'none' });
    expect((await post('{"a":1}')).json()).toEqual({ body: { a: 1 } });
    expect((await post('{')).statusCode).toBe(400);
    await app.close();
  });
});

describe('the document', () => {
  it('drops unreferenced components, marks optional bodies and describes answers', () => {
    const openapiObject = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: {
        '/a': {
          post: {
            'x-optional-body': true,
            requestBody: { required: true, content: {} },
            responses: { 202: { description: 'Default Response' } },
          },
        },
      },
    };
    const document = transformObject({ openapiObject } as never) as typeof openapiObject & {
      components?: { schemas?: Record<string, unknown> };
    };
    const post = document.paths['/a'].post as Record<string, unknown> &
      (typeof openapiObject.paths)['/a']['post'];
    expect(post.requestBody.required).toBe(false);
    expect(post['x-optional-body']).toBeUndefined();
    expect(post.responses[202].description).toBe('Accepted');
    // Schemas registered with an id but used by no operation are not components.
    expect(Object.keys(document.components?.schemas ?? {})).toEqual([]);
  });
});
