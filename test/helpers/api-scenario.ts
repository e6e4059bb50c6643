import { handmadeRepo } from './handmade-repo.ts';

export const OPERATOR = 'olga-operator-token-0123456789';
export const VIEWER = 'vic-viewer-token-0123456789ab';

/**
 * A configuration that lets every route answer its success: a repository of files, a pipeline
 * with a manual stage (approve), one that fails and keeps its lock (unlock), one that runs long
 * (cancel), all polled once at start.
 */
export function contractConfig(): { yaml: string; repoUrl: string } {
  const repoUrl = `file://${handmadeRepo([{ name: 'app', version: '1.0' }])}`;
  const yaml = `
auth:
  tokens:
    - { name: olga, role: operator, token: "${OPERATOR}" }
    - { name: vic, role: viewer, token: "${VIEWER}" }
repositories:
  - name: internal
    plugin: yum
    config: { REPO_URL: "${repoUrl}" }
    packages:
      - name: app
        config: { PACKAGE_SPEC: "app" }
        pollInterval: 1h
pipelines:
  - name: build
    lock: none
    materials: [{ package: internal/app }]
    variables: { GREETING: hello }
    secureVariables: { TOKEN: not-shown }
    stages:
      - name: test
        jobs:
          - name: unit
            tasks: [{ run: 'echo "$GREETING from unit"' }]
      - name: release
        approval: manual
        jobs:
          - name: publish
            tasks: [{ run: 'echo published' }]
  - name: fragile
    lock: lockOnFailure
    materials: [{ package: internal/app }]
    stages:
      - name: only
        jobs:
          - name: fail
            tasks: [{ run: 'exit 3' }]
  - name: slow
    materials: [{ package: internal/app }]
    stages:
      - name: wait
        jobs:
          - name: sleep
            tasks: [{ run: 'sleep 60' }]
notifications:
  - { name: hook, url: "http://127.0.0.1:9/hook", events: [run.created] }
`;
  return { yaml, repoUrl };
}

/** A path of the document with its parameters filled in, for calls that need no real object. */
export function samplePath(template: string): string {
  return template.replace(/\{counter\}/g, '1').replace(/\{[^}]+\}/g, 'none');
}
