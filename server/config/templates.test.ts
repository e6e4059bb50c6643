import { ConfigInvalidError } from 'hoist';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from './load.ts';
import { replaceRefs } from './templates.ts';

const head = `
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "https://repo.example.com/el9" }
    packages: [{ name: billing }, { name: search }]
templates:
  - name: service
    parameters: [service, { name: region, default: eu-1 }]
    stages:
      - name: build-#{service}
        jobs: [{ name: record, tasks: [{ run: "echo #{service} in #{region} ## \${x##*/}" }] }]
      - name: deploy
        jobs: [{ name: roll-out, tasks: [{ run: "./deploy.sh #{service}" }] }]
`;

const parse = (text: string) => parseConfigText(text, 'hoist.yaml', {});

function issuesOf(text: string): { key: string; message: string }[] {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error.issues.map((i) => ({ ...i }));
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('server/config/templates', () => {
  it('expands a template into each pipeline with its parameters, keeping where it came from', () => {
    const config = parse(`${head}
pipelines:
  - name: svc-a
    template: service
    parameters: { service: billing }
    materials: [{ package: 'internal/#{service}' }]
  - name: svc-b
    template: service
    parameters: { service: search, region: us-2 }
    materials: [{ package: internal/search }]
`);
    const [a, b] = config.pipelines;
    expect(a?.template).toBe('service');
    expect(a?.parameters).toEqual({ service: 'billing', region: 'eu-1' });
    expect(a?.materials).toEqual([{ package: 'internal/billing', trigger: 'latest' }]);
    expect(a?.stages.map((s) => s.name)).toEqual(['build-billing', 'deploy']);
    expect(a?.stages[0]?.jobs[0]?.tasks[0]).toEqual({
      run: `echo billing in eu-1 # \${x#*/}`,
    });
    expect(b?.parameters).toEqual({ service: 'search', region: 'us-2' });
    expect(b?.stages[1]?.jobs[0]?.tasks[0]).toEqual({ run: './deploy.sh search' });
    expect(config).not.toHaveProperty('templates');
  });

  it('substitutes the parameters of a pipeline without a template in its own fields', () => {
    const config = parse(`${head}
pipelines:
  - name: plain
    parameters: { pkg: billing }
    materials: [{ package: 'internal/#{pkg}' }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "echo #{pkg}" }] }] }]
  - name: untouched
    materials: [{ package: internal/search }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: "echo \${x##*/} #{kept}" }] }] }]
`);
    expect(config.pipelines[0]?.materials[0]).toEqual({
      package: 'internal/billing',
      trigger: 'latest',
    });
    expect(config.pipelines[0]?.stages[0]?.jobs[0]?.tasks[0]).toEqual({ run: 'echo billing' });
    // Without template or parameters nothing is substituted.
    expect(config.pipelines[1]?.stages[0]?.jobs[0]?.tasks[0]).toEqual({
      run: `echo \${x##*/} #{kept}`,
    });
  });

  it('says which pipeline lacks which parameter, and where the template uses it', () => {
    const issues = issuesOf(`${head}
pipelines:
  - name: svc-a
    template: service
    parameters: { service: billing }
    materials: [{ package: internal/billing }]
  - name: svc-b
    template: service
    materials: [{ package: 'internal/#{service}' }]
`);
    expect(issues).toEqual([
      {
        key: 'pipelines[1].parameters',
        message:
          "pipeline 'svc-b' does not give parameter 'service' that template 'service' uses at templates[0].stages[0].name",
      },
      {
        key: 'pipelines[1].materials[0].package',
        message:
          "uses parameter 'service' that pipeline 'svc-b' gives no value for in pipelines[1].parameters (template 'service' declares it without a default)",
      },
    ]);
  });

  it('refuses an unknown template, an undeclared parameter, and stages beside a template', () => {
    const issues = issuesOf(`${head}
pipelines:
  - name: svc-a
    template: servise
    materials: [{ package: internal/billing }]
  - name: svc-b
    template: service
    parameters: { service: search, colour: red }
    materials: [{ package: 'internal/#{nothing}' }]
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: x }] }] }]
`);
    expect(issues).toContainEqual({
      key: 'pipelines[0].template',
      message: "no template 'servise'; known: service",
    });
    // An unknown template's pipeline is not also said to lack stages.
    expect(issues.filter((i) => i.key.startsWith('pipelines[0]'))).toHaveLength(1);
    expect(issues).toContainEqual({
      key: 'pipelines[1].parameters.colour',
      message:
        "template 'service' declares no parameter 'colour' (templates[0].parameters: service, region)",
    });
    expect(issues).toContainEqual({
      key: 'pipelines[1].materials[0].package',
      message:
        "uses parameter 'nothing' that template 'service' does not declare in templates[0].parameters",
    });
    expect(issues).toContainEqual({
      key: 'pipelines[1].stages',
      message:
        "pipeline 'svc-b' is declared from template 'service', which gives its stages (templates[0].stages): remove either",
    });
  });

  it('refuses a template defined twice, a use of an undeclared parameter and a malformed one', () => {
    const issues = issuesOf(`
templates:
  - name: t
    parameters: [a]
    stages: [{ name: 's-#{b}', jobs: [{ name: j, tasks: [{ run: 'echo #{a' }] }] }]
  - name: t
    stages: [{ name: s, jobs: [{ name: j, tasks: [{ run: x }] }] }]
`);
    expect(issues).toContainEqual({
      key: 'templates[1].name',
      message: "template 't' is defined twice (also templates[0])",
    });
    expect(issues).toContainEqual({
      key: 'templates[0].stages[0].name',
      message: "uses parameter 'b' that template 't' does not declare in templates[0].parameters",
    });
    expect(
      issues.find((i) => i.key === 'templates[0].stages[0].jobs[0].tasks[0].run')?.message,
    ).toMatch(/^'#\{a' is not a parameter reference/);
  });

  it('says of a schema problem in a template both the pipeline and the template field', () => {
    const issues = issuesOf(`
repositories:
  - { name: internal, plugin: yum, config: { REPO_URL: "https://r" }, packages: [{ name: app }] }
templates:
  - name: t
    stages: [{ name: s, jobs: [{ name: j, tasks: [] }] }]
pipelines:
  - { name: p, template: t, materials: [{ package: internal/app }] }
`);
    expect(issues).toEqual([
      {
        key: 'pipelines[0].stages[0].jobs[0].tasks',
        message:
          "a job needs at least one task (pipeline 'p' from template 't' at templates[0].stages[0].jobs[0].tasks)",
      },
    ]);
  });

  it('replaces references and ## only', () => {
    const values = new Map([['a', 'x']]);
    expect(replaceRefs('#{a} ## # #{b} #a', values)).toBe('x # # #{b} #a');
  });
});
