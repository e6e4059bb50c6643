import type { ValidationIssue } from 'hoist';
import { TemplateConfig } from './schema.ts';

type Raw = Record<string, unknown>;
type Path = readonly PropertyKey[];
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A configuration with its templates expanded, and where each pipeline's stages came from. */
export interface Expansion {
  /** The raw configuration without `templates`: every pipeline has its own stages. */
  config: unknown;
  issues: ValidationIssue[];
  /** Fields that still name a parameter nobody gave: already reported, not checked again. */
  unresolved: Set<string>;
  /** Pipelines declared from a template, by index: the template's index and names. */
  origins: Map<number, { template: number; templateName: string; pipelineName: string }>;
}

/** A template as read: its parameters with their defaults (undefined: the pipeline must give it). */
interface Template {
  index: number;
  name: string;
  parameters: Map<string, string | undefined>;
  stages: unknown[];
  /** Where each parameter is first used, e.g. `templates[0].stages[1].jobs[0].tasks[0].run`. */
  uses: Map<string, string>;
}

/**
 * Expands `templates:` into the pipelines declared from them (`template: NAME`, `parameters:`),
 * before the schema is checked, so that everything later sees ordinary pipelines. `#{name}` is
 * replaced by the parameter's value in the template's stages and in the pipeline's own fields
 * (not its name); `##` is a literal `#`. Only templates and pipelines with `parameters` are
 * substituted. Every problem names the pipeline and the template field it concerns.
 */
export function expandTemplates(raw: unknown): Expansion {
  const origins: Expansion['origins'] = new Map();
  const issues: ValidationIssue[] = [];
  const unresolved = new Set<string>();
  if (!isObject(raw)) return { config: raw, issues, origins, unresolved };
  const { templates: rawTemplates, ...rest } = raw;
  const templates = readTemplates(rawTemplates, issues);
  if (!Array.isArray(rest.pipelines)) return { config: rest, issues, origins, unresolved };
  const pipelines = rest.pipelines.map((pipeline, i) => {
    if (!isObject(pipeline)) return pipeline;
    if (pipeline.template === undefined && pipeline.parameters === undefined) return pipeline;
    const expanded = expandPipeline(pipeline, i, templates, { issues, unresolved });
    if (expanded.template)
      origins.set(i, {
        template: expanded.template.index,
        templateName: expanded.template.name,
        pipelineName: String(pipeline.name),
      });
    return expanded.pipeline;
  });
  return { config: { ...rest, pipelines }, issues, origins, unresolved };
}

/** A schema problem inside stages a template gave: said of the pipeline and of the template. */
export function fromTemplate(
  issue: ValidationIssue,
  origins: Expansion['origins'],
): ValidationIssue {
  const match = /^pipelines\[(\d+)\]\.(stages.*)$/.exec(issue.key);
  const origin = match && origins.get(Number(match[1]));
  if (!match || !origin) return issue;
  return {
    key: issue.key,
    message: `${issue.message} (pipeline '${origin.pipelineName}' from template '${origin.templateName}' at templates[${origin.template}].${match[2]})`,
  };
}

function readTemplates(raw: unknown, issues: ValidationIssue[]): Map<string, Template> {
  const templates = new Map<string, Template>();
  if (raw === undefined) return templates;
  if (!Array.isArray(raw)) {
    issues.push({ key: 'templates', message: 'must be a list of templates' });
    return templates;
  }
  for (const [index, entry] of raw.entries()) {
    const parsed = TemplateConfig.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({ key: pathText(['templates', index, ...issue.path]), message: issue.message });
      continue;
    }
    const { name, parameters, stages } = parsed.data;
    const earlier = templates.get(name);
    if (earlier) {
      issues.push({
        key: `templates[${index}].name`,
        message: `template '${name}' is defined twice (also templates[${earlier.index}])`,
      });
      continue;
    }
    const declared = new Map<string, string | undefined>();
    for (const p of parameters)
      typeof p === 'string' ? declared.set(p, undefined) : declared.set(p.name, p.default);
    const template: Template = { index, name, parameters: declared, stages, uses: new Map() };
    // Which parameters the stages use, and that each is declared.
    walk(stages, ['templates', index, 'stages'], (text, path) => {
      for (const ref of references(text, path, issues)) {
        if (!template.uses.has(ref)) template.uses.set(ref, pathText(path));
        if (!declared.has(ref))
          issues.push({
            key: pathText(path),
            message: `uses parameter '${ref}' that template '${name}' does not declare in templates[${index}].parameters`,
          });
      }
      return text;
    });
    templates.set(name, template);
  }
  return templates;
}

/** Where an expansion reports: its issues, and the fields left with a reference. */
interface Report {
  issues: ValidationIssue[];
  unresolved: Set<string>;
}

function expandPipeline(
  pipeline: Raw,
  i: number,
  templates: Map<string, Template>,
  report: Report,
): { pipeline: Raw; template?: Template } {
  const { issues } = report;
  const at = `pipelines[${i}]`;
  const name = String(pipeline.name ?? `#${i}`);
  const given = readParameters(pipeline.parameters, `${at}.parameters`, issues);
  const { name: _name, template: templateName, parameters: _parameters, ...own } = pipeline;
  if (templateName === undefined) {
    const values = new Map(Object.entries(given));
    const substituted = substituteAll(own, ['pipelines', i], values, report, (ref) =>
      missingOwn(ref, `pipeline '${name}' does not give in ${at}.parameters`),
    );
    return { pipeline: { name: pipeline.name, parameters: given, ...substituted } };
  }
  const template = findTemplate(templateName, at, templates, report);
  if (!template) return { pipeline };
  if (own.stages !== undefined)
    issues.push({
      key: `${at}.stages`,
      message: `pipeline '${name}' is declared from template '${templateName}', which gives its stages (templates[${template.index}].stages): remove either`,
    });
  const values = resolveValues(given, template, name, at, issues);
  const { stages: _stages, ...fields } = own;
  const substituted = substituteAll(fields, ['pipelines', i], values, report, (ref) =>
    missingOwn(
      ref,
      template.parameters.has(ref)
        ? `pipeline '${name}' gives no value for in ${at}.parameters (template '${templateName}' declares it without a default)`
        : `template '${templateName}' does not declare in templates[${template.index}].parameters`,
    ),
  );
  // Problems in the template's stages are reported once, of the template, not per pipeline.
  const stages = walk(template.stages, ['pipelines', i, 'stages'], (text, path) => {
    if (references(text, path, []).some((ref) => !values.has(ref)))
      report.unresolved.add(pathText(path));
    return replaceRefs(text, values);
  });
  return {
    pipeline: {
      name: pipeline.name,
      template: templateName,
      parameters: Object.fromEntries(values),
      ...substituted,
      stages,
    },
    template,
  };
}

/** The template a pipeline names; else an issue (and its stages are not checked further). */
function findTemplate(
  name: unknown,
  at: string,
  templates: Map<string, Template>,
  report: Report,
): Template | undefined {
  const template = typeof name === 'string' ? templates.get(name) : undefined;
  if (template) return template;
  const known = [...templates.keys()];
  report.issues.push({
    key: `${at}.template`,
    message:
      typeof name !== 'string' || name === ''
        ? 'must name a template'
        : `no template '${name}'; ${known.length > 0 ? `known: ${known.join(', ')}` : 'the configuration has no templates'}`,
  });
  report.unresolved.add(`${at}.stages`);
  return undefined;
}

const missingOwn = (ref: string, why: string) => `uses parameter '${ref}' that ${why}`;

/** The values a templated pipeline runs with: its own, else the template's defaults. */
function resolveValues(
  given: Record<string, string>,
  template: Template,
  name: string,
  at: string,
  issues: ValidationIssue[],
): Map<string, string> {
  const values = new Map<string, string>();
  const declared = [...template.parameters.keys()];
  for (const key of Object.keys(given)) {
    if (!template.parameters.has(key))
      issues.push({
        key: `${at}.parameters.${key}`,
        message: `template '${template.name}' declares no parameter '${key}' (templates[${template.index}].parameters: ${declared.join(', ') || 'none'})`,
      });
  }
  for (const [key, fallback] of template.parameters) {
    const value = given[key] ?? fallback;
    if (value !== undefined) {
      values.set(key, value);
      continue;
    }
    const where =
      template.uses.get(key) ?? `templates[${template.index}].parameters[${declared.indexOf(key)}]`;
    issues.push({
      key: `${at}.parameters`,
      message: `pipeline '${name}' does not give parameter '${key}' that template '${template.name}' ${template.uses.has(key) ? 'uses' : 'declares'} at ${where}`,
    });
  }
  return values;
}

function readParameters(
  raw: unknown,
  at: string,
  issues: ValidationIssue[],
): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    issues.push({ key: at, message: 'must map parameter names to values: { service: billing }' });
    return {};
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!PARAMETER_NAME.test(key))
      issues.push({ key: `${at}.${key}`, message: PARAMETER_NAME_RULE });
    else if (['string', 'number', 'boolean'].includes(typeof value)) values[key] = String(value);
    else issues.push({ key: `${at}.${key}`, message: 'must be a string, number or boolean' });
  }
  return values;
}

/** Substitutes every string of `value`; an unknown reference is an issue at its field. */
function substituteAll(
  value: Raw,
  base: PropertyKey[],
  values: Map<string, string>,
  report: Report,
  unknown: (ref: string) => string,
): Raw {
  return walk(value, base, (text, path) => {
    for (const ref of references(text, path, report.issues)) {
      if (values.has(ref)) continue;
      report.issues.push({ key: pathText(path), message: unknown(ref) });
      report.unresolved.add(pathText(path));
    }
    return replaceRefs(text, values);
  }) as Raw;
}

export const PARAMETER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const PARAMETER_NAME_RULE = 'a parameter name may hold letters, digits, _, - and . (not first)';

/** `##` (a literal `#`) or `#{…}` (a parameter reference). */
const TOKEN = /##|#\{([^}]*)(\})?/g;

/** The parameters a text names; a malformed reference is an issue at its field. */
function references(text: string, path: Path, issues: ValidationIssue[]): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(TOKEN)) {
    if (match[0] === '##') continue;
    const name = match[1] ?? '';
    if (match[2] === undefined || !PARAMETER_NAME.test(name)) {
      issues.push({
        key: pathText(path),
        message: `'${match[0]}' is not a parameter reference: write #{name} (${PARAMETER_NAME_RULE}), or ## for a literal #`,
      });
      continue;
    }
    found.push(name);
  }
  return found;
}

/** The text with each `#{name}` replaced by its value and each `##` by `#`. */
export function replaceRefs(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(TOKEN, (token: string, name?: string, close?: string) => {
    if (token === '##') return '#';
    if (close === undefined || name === undefined) return token;
    return values.get(name) ?? token;
  });
}

/** A copy of `value` with every string passed through `fn` (keys are kept as they are). */
function walk(
  value: unknown,
  path: PropertyKey[],
  fn: (text: string, path: PropertyKey[]) => string,
): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i], fn));
  if (isObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k], fn)]),
    );
  return value;
}

function pathText(path: Path): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}
