import { describe, expect, it } from 'vitest';
import { parseLenientJson } from './lenient-json.ts';
import {
  readConnectionAnswer,
  readPropertiesAnswer,
  readRevisionAnswer,
  readValidationAnswer,
} from './responses.ts';

// The bodies below are those of gocd/gocd's JsonMessageHandler1_0Test
// (plugin-infra/go-plugin-access/src/test/java/.../packagematerial/JsonMessageHandler1_0Test.java).
const CONFIGURATION =
  '{"key-one":{},"key-two":{"default-value":"two","part-of-identity":true,"secure":true,"required":true,"display-name":"display-two","display-order":"1"},' +
  '"key-three":{"default-value":"three","part-of-identity":false,"secure":false,"required":false,"display-name":"display-three","display-order":"2"}}';
const REVISION =
  '{"revision":"abc.rpm","timestamp":"2011-07-14T19:43:37.100Z","user":"some-user","revisionComment":"comment",' +
  '"trackbackUrl":"http:\\\\localhost:9999","data":{"dataKeyOne":"data-value-one","dataKeyTwo":"data-value-two"}}';

describe('core/gocd/responses (GoCD JsonMessageHandler1_0 rules)', () => {
  it('reads lenient JSON as Gson does: unquoted names, =, ;, single quotes, comments', () => {
    expect(parseLenientJson('{"status":"success",messages=["a","b"]}')).toEqual({
      status: 'success',
      messages: ['a', 'b'],
    });
    expect(parseLenientJson("{a => 'x'; b: [1; true, null] # note\n /* c */ }")).toEqual({
      a: 'x',
      b: [1, true, null],
    });
    expect(() => parseLenientJson('{"a":')).toThrow(SyntaxError);
  });

  it('reads property definitions with their defaults and types', () => {
    expect(readPropertiesAnswer(CONFIGURATION, 'Repository')).toEqual([
      { key: 'key-one', displayOrder: 0 },
      {
        key: 'key-two',
        displayName: 'display-two',
        displayOrder: 1,
        required: true,
        secure: true,
        partOfIdentity: true,
        defaultValue: 'two',
      },
      {
        key: 'key-three',
        displayName: 'display-three',
        displayOrder: 2,
        required: false,
        secure: false,
        partOfIdentity: false,
        defaultValue: 'three',
      },
    ]);
  });

  it.each([
    ['', 'Empty response body'],
    [
      '[{"key-one":"value"},{"key-two":"value"}]',
      'Repository configuration should be returned as a map',
    ],
    ['{"":{}}', 'Repository configuration key cannot be empty'],
    [
      '{"key":[{}]}',
      "Repository configuration properties for key 'key' should be represented as a Map",
    ],
    [
      '{"key":{"part-of-identity":"true"}}',
      "'part-of-identity' property for key 'key' should be of type boolean",
    ],
    ['{"key":{"secure":100}}', "'secure' property for key 'key' should be of type boolean"],
    [
      '{"key":{"display-name":true}}',
      "'display-name' property for key 'key' should be of type string",
    ],
    [
      '{"key":{"display-order":10.0}}',
      "'display-order' property for key 'key' should be of type integer",
    ],
    [
      '{"key":{"display-order":""}}',
      "'display-order' property for key 'key' should be of type integer",
    ],
  ])('refuses the configuration %s as GoCD does', (body, message) => {
    expect(() => readPropertiesAnswer(body, 'Repository')).toThrow(message);
  });

  it('reads validation answers: empty is valid, a message without key is kept', () => {
    expect(readValidationAnswer('')).toEqual([]);
    expect(readValidationAnswer('""')).toEqual([]);
    expect(readValidationAnswer('[]')).toEqual([]);
    expect(
      readValidationAnswer(
        '[{"key":"key-one","message":"incorrect value"},{"message":"general error"}]',
      ),
    ).toEqual([
      { key: 'key-one', message: 'incorrect value' },
      { key: '', message: 'general error' },
    ]);
    expect(() => readValidationAnswer('{"key":"x"}')).toThrow(/returned as list/);
  });

  it('reads connection answers, lenient and case-insensitive', () => {
    expect(
      readConnectionAnswer('{"status":"success",messages=["message-one","message-two"]}'),
    ).toEqual({ ok: true, messages: ['message-one', 'message-two'] });
    expect(
      readConnectionAnswer('{"status":"failure",messages=["message-one","message-two"]}'),
    ).toEqual({ ok: false, messages: ['message-one', 'message-two'] });
    expect(readConnectionAnswer('{"status":"SUCCESS"}')).toEqual({ ok: true, messages: [] });
    expect(readConnectionAnswer('{"status":"failure"}')).toEqual({ ok: false, messages: [] });
    expect(() => readConnectionAnswer('{}')).toThrow('Empty response body');
    expect(() => readConnectionAnswer('{"messages":[]}')).toThrow("'status' is a required field");
  });

  it('reads revisions; empty, null and {} are nothing', () => {
    expect(readRevisionAnswer(REVISION)).toEqual({
      revision: 'abc.rpm',
      timestamp: '2011-07-14T19:43:37.100Z',
      user: 'some-user',
      comment: 'comment',
      trackbackUrl: 'http:\\localhost:9999',
      data: { dataKeyOne: 'data-value-one', dataKeyTwo: 'data-value-two' },
    });
    for (const empty of ['', 'null', '{}']) expect(readRevisionAnswer(empty)).toBeNull();
    expect(() => readRevisionAnswer('[{"revision":"abc.rpm"}]')).toThrow(
      'Package revision should be returned as a map',
    );
    expect(() => readRevisionAnswer('{"revision":{}}')).toThrow(
      'Package revision should be of type string',
    );
    expect(() => readRevisionAnswer('{"timestamp":{}}')).toThrow(
      /timestamp should be of type string/,
    );
  });
});
