import { readFile } from 'node:fs/promises';
import { ConfigInvalidError, type ValidationIssue } from 'hoist';
import { LineCounter, parseDocument } from 'yaml';
import { crossCheck } from './cross-check.ts';
import { HoistConfig } from './schema.ts';
import { expandTemplates, fromTemplate } from './templates.ts';

/**
 * Reads and checks a configuration file: YAML, `${env:NAME}` substituted, templates expanded
 * (`templates.ts`), then the schema. Every
 * problem is reported at once, each with the path of its field.
 * @throws ConfigInvalidError
 */
export async function loadConfigFile(
  path: string,
  env = process.env,
  pluginIds?: readonly string[],
): Promise<HoistConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigInvalidError([
      {
        key: '',
        message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      },
    ]);
  }
  return parseConfigText(text, path, env, pluginIds);
}

/**
 * Like `loadConfigFile`, from text. With `pluginIds`, a file that fails its schema also has its
 * references checked as far as they can be read, so that every problem is listed at once.
 */
export function parseConfigText(
  text: string,
  where: string,
  env = process.env,
  pluginIds?: readonly string[],
): HoistConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const issues: ValidationIssue[] = doc.errors.map((e) => ({
    key: '',
    message: `${where}${position(lines.linePos(e.pos[0]))}: YAML: ${yamlMessage(e, text)}`,
  }));
  // A key given twice leaves the document readable: its other problems are listed too. Other
  // syntax errors leave too little to check.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) throw new ConfigInvalidError(issues);
  const expansion = expandTemplates(substitute(toJS(doc, where) ?? {}, [], env, issues));
  issues.push(...expansion.issues);
  const raw = expansion.config;
  const parsed = HoistConfig.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const found = { key: formatPath(issue.path), message: issue.message };
      if (!expansion.unresolved.has(found.key)) issues.push(fromTemplate(found, expansion.origins));
    }
    for (const issue of pluginIds ? crossCheck(raw, pluginIds) : []) {
      if (!issues.some((i) => i.key === issue.key && i.message === issue.message))
        issues.push(issue);
    }
  }
  if (issues.length > 0)
    throw new ConfigInvalidError(issues.map((i) => ({ key: i.key, message: i.message })));
  return parsed.data as HoistConfig;
}

/** Aliases a file may expand; more is refused (a "billion laughs" file). */
const MAX_ALIAS_COUNT = 100;

/** The document as plain values; a file whose aliases expand too far is a configuration error. */
function toJS(doc: ReturnType<typeof parseDocument>, where: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = `${where}: YAML: ${(error as Error).message.split('\n')[0]} (aliases may expand to at most ${MAX_ALIAS_COUNT} nodes)`;
    throw new ConfigInvalidError([{ key: '', message }]);
  }
}

/** The first line of a YAML error, naming the key a duplicate-key error is about. */
function yamlMessage(
  error: { code: string; message: string; pos: [number, number] },
  text: string,
) {
  const first = error.message.split('\n')[0] ?? '';
  if (error.code !== 'DUPLICATE_KEY') return first;
  const key = /^\s*["']?([^"':\n]+)/.exec(text.slice(error.pos[0]))?.[1]?.trim();
  return key ? `${first}: '${key}' is given twice` : first;
}

/** `:3:7` for line 3, column 7 of the file. */
function position(at: { line: number; col: number }): string {
  return at.line > 0 ? `:${at.line}:${at.col}` : '';
}

/** `repositories[0].packages[1].config.PACKAGE_SPEC` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}

const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substitute(
  value: unknown,
  path: PropertyKey[],
  env: NodeJS.ProcessEnv,
  issues: ValidationIssue[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_, name: string) => {
      const found = env[name];
      if (found === undefined) {
        issues.push({ key: formatPath(path), message: `environment variable ${name} is not set` });
        return '';
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], env, issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, issues)]),
    );
  }
  return value;
}
