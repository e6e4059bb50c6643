import type { ValidationIssue } from '../errors.ts';
import type { ConnectionResult, PropertyInput, Revision } from '../plugin/types.ts';
import { parseLenientJson } from './lenient-json.ts';
import { fromGoCdRevision, type GoCdRevision } from './messages.ts';

/**
 * Plugin answers read by GoCD's rules (`JsonMessageHandler1_0` and `JSONResultMessageHandler`
 * of gocd/gocd's plugin-infra/go-plugin-access): the same leniency, the same refusals, GoCD's
 * wording. Each reader throws an `Error` whose message says what is wrong with the answer.
 */

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** @throws SyntaxError `invalid JSON: <the start of the body>` */
function parse(body: string): unknown {
  try {
    return parseLenientJson(body);
  } catch {
    throw new SyntaxError(`invalid JSON: ${body.trim().slice(0, 80)}`);
  }
}

/** `repository-configuration` / `package-configuration`: a non-empty map of property maps. */
export function readPropertiesAnswer(
  body: string,
  level: 'Repository' | 'Package',
): PropertyInput[] {
  if (body.trim() === '') throw new Error('Empty response body');
  const map = parse(body);
  if (!isMap(map)) throw new Error(`${level} configuration should be returned as a map`);
  if (Object.keys(map).length === 0) throw new Error('Empty response body');
  return Object.entries(map).map(([key, p]) => {
    if (key === '') throw new Error(`${level} configuration key cannot be empty`);
    if (!isMap(p))
      throw new Error(
        `${level} configuration properties for key '${key}' should be represented as a Map`,
      );
    return toProperty(key, p);
  });
}

function toProperty(key: string, p: Record<string, unknown>): PropertyInput {
  const errors: string[] = [];
  const typed = <T>(name: string, type: 'string' | 'boolean'): T | undefined => {
    const v = p[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== type)
      errors.push(`'${name}' property for key '${key}' should be of type ${type}`);
    return typeof v === type ? (v as T) : undefined;
  };
  const defaultValue = typed<string>('default-value', 'string');
  const partOfIdentity = typed<boolean>('part-of-identity', 'boolean');
  const secure = typed<boolean>('secure', 'boolean');
  const required = typed<boolean>('required', 'boolean');
  const displayName = typed<string>('display-name', 'string');
  const order = p['display-order'];
  // GoCD: Integer.parseInt((String) value); a JSON number is refused.
  const displayOrder =
    order === undefined || order === null
      ? undefined
      : typeof order === 'string' && /^[+-]?\d+$/.test(order)
        ? Number.parseInt(order, 10)
        : undefined;
  if (order !== undefined && order !== null && displayOrder === undefined)
    errors.push(`'display-order' property for key '${key}' should be of type integer`);
  if (errors.length > 0) throw new Error(errors.join(', '));
  return {
    key,
    ...(displayName ? { displayName } : {}),
    displayOrder: displayOrder ?? 0,
    ...(required === undefined ? {} : { required }),
    ...(secure === undefined ? {} : { secure }),
    ...(partOfIdentity === undefined ? {} : { partOfIdentity }),
    ...(defaultValue ? { defaultValue } : {}),
  };
}

/** `validate-*`: empty (GoCD's yum plugin answers `""`) or a list of `{key?, message}`. */
export function readValidationAnswer(body: string): ValidationIssue[] {
  if (body === '') return [];
  const list = parse(body);
  if (list === null || list === '') return [];
  if (!Array.isArray(list))
    throw new Error(
      'Validation errors should be returned as list or errors, with each error represented as a map',
    );
  return list.map((error) => {
    if (!isMap(error)) throw new Error('Each validation error should be represented as a map');
    const { key, message } = error;
    if (key !== undefined && key !== null && typeof key !== 'string')
      throw new Error('Validation error key should be of type string');
    if (message !== undefined && message !== null && typeof message !== 'string')
      throw new Error('Validation message should be of type string');
    // A message without a key is about the whole configuration: kept, with the key ''.
    return { key: key ?? '', message: message ?? '' };
  });
}

/** `check-*-connection`: `{status, messages?}`; status "success" in any case, else a failure. */
export function readConnectionAnswer(body: string): ConnectionResult {
  const map = body.trim() === '' ? null : parse(body);
  if (map !== null && !isMap(map))
    throw new Error(
      'Check connection result should be returned as map, with key represented as string and messages represented as list',
    );
  if (map === null || Object.keys(map).length === 0) throw new Error('Empty response body');
  const { status, messages } = map;
  if (status !== undefined && status !== null && typeof status !== 'string')
    throw new Error("Check connection 'status' should be of type string");
  if (!status) throw new Error("Check connection 'status' is a required field");
  if (messages !== undefined && messages !== null && !Array.isArray(messages))
    throw new Error("Check connection 'messages' should be of type list of string");
  const list = (messages ?? []) as unknown[];
  if (!list.every((m) => typeof m === 'string'))
    throw new Error("Check connection 'message' should be of type string");
  return { ok: status.toLowerCase() === 'success', messages: list as string[] };
}

/**
 * `latest-revision` / `latest-revision-since`: a PackageRevision, or null for an empty body,
 * `null` or `{}` (nothing found / nothing newer).
 */
export function readRevisionAnswer(body: string): Revision | null {
  if (body.trim() === '') return null;
  const map = parse(body);
  if (map === null) return null;
  if (!isMap(map)) throw new Error('Package revision should be returned as a map');
  if (Object.keys(map).length === 0) return null;
  const fields = [
    ['revision', 'Package revision should be of type string'],
    ['revisionComment', 'Package revision comment should be of type string'],
    ['user', 'Package revision user should be of type string'],
    ['trackbackUrl', 'Package revision trackbackUrl should be of type string'],
  ] as const;
  for (const [name, message] of fields) {
    const v = map[name];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new Error(message);
  }
  if (typeof map.timestamp !== 'string')
    throw new Error(
      "Package revision timestamp should be of type string with format yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
    );
  if (map.data !== undefined && map.data !== null && !isMap(map.data))
    throw new Error('Package revision data should be a map of strings');
  return fromGoCdRevision(map as unknown as GoCdRevision);
}
