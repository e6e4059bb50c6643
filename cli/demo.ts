import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { DEMO_PACKAGE, demoToken, demoVersions, nextVersion, writeDemoRepo } from './demo-repo.ts';
import { UsageError } from './exit-codes.ts';

/** The demo's data folder unless `--data` names another. */
const DEMO_DATA = './hoist-demo';

/** What every job of the demo prints: the package it received, checked byte for byte. */
const SHOW_PACKAGE = [
  'echo "package  $HOIST_PACKAGE_DEMO_APP_LABEL"',
  'echo "from     $HOIST_PACKAGE_DEMO_APP_LOCATION"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
  'file="${HOIST_PACKAGE_DEMO_APP_LOCATION#file://}"',
  'if test "$(sha256sum "$file" | cut -d" " -f1)" = "$HOIST_PACKAGE_DEMO_APP_CHECKSUM"; then echo "sha256   matches the repository: the same bytes"; else echo "sha256   does not match the repository" >&2; exit 1; fi',
].join('; ');

/** The demo's configuration: build -> deploy, with a manual production stage. */
function demoConfig(repo: string): string {
  return `# Written by \`hoist demo\`: a build pipeline on the demo package, and a deploy pipeline
# downstream of it whose production stage waits for an approval.
repositories:
  - name: demo
    plugin: yum
    config: { REPO_URL: "${pathToFileURL(repo).href}" }
    packages:
      - { name: app, config: { PACKAGE_SPEC: ${DEMO_PACKAGE} }, pollInterval: 10s }
pipelines:
  - name: build
    materials: [{ package: demo/app }]
    stages:
      - name: test
        jobs: [{ name: unit, tasks: [{ run: '${SHOW_PACKAGE}; sleep 1; echo "tests passed"' }] }]
  - name: deploy
    materials: [{ pipeline: build, stage: test }]
    stages:
      - name: staging
        jobs: [{ name: install, tasks: [{ run: '${SHOW_PACKAGE}; echo "installed on staging"' }] }]
      - name: production
        approval: manual
        jobs: [{ name: install, tasks: [{ run: '${SHOW_PACKAGE}; echo "installed on production"' }] }]
`;
}

/** `hoist demo` and `hoist demo publish`. */
export function registerDemo(program: Command, dataOption: () => string | undefined): void {
  const dataDir = () => resolve(dataOption() ?? DEMO_DATA);
  const demo = program
    .command('demo')
    .summary('see Hoist work: a local repository, build -> deploy, the dashboard')
    .description(
      [
        'Start a demo server, offline: a small yum repository of its own, a build pipeline on it and a deploy pipeline downstream whose production stage waits for an approval, on SQLite in the data folder (default ./hoist-demo; `hoist --data DIR demo` names another).',
        'It prints the dashboard URL and an admin token. `hoist demo publish` then adds a new version to the repository, and the package flows through build and deploy. Run `hoist demo` again to go on where you were.',
      ].join('\n\n'),
    )
    .option('--port <port>', 'port to listen on (0: any free port)', '8153')
    .action(async (options: { port: string }) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port must be a port number, got '${options.port}'`);
      await runDemo(dataDir(), port);
    });
  demo
    .command('publish')
    .description('add the next version of the demo package to the demo repository, and check now')
    .action(async () => publish(dataDir()));
}

async function runDemo(dir: string, port: number): Promise<void> {
  const repo = join(dir, 'demo-repo');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (demoVersions(repo).length === 0) writeDemoRepo(repo, ['1.0']);
  const configFile = join(dir, 'demo.yaml');
  writeFileSync(configFile, demoConfig(repo));
  const { createServer } = await import('../server/index.ts');
  const server = await createServer({
    dataDir: dir,
    configFile,
    host: '127.0.0.1',
    port,
    logger: { level: 'warn' },
  }).catch((error: NodeJS.ErrnoException) => {
    throw portInUse(error, port);
  });
  writeFileSync(join(dir, 'demo-server'), `${server.url}\n`);
  const token = process.env.HOIST_ADMIN_TOKEN || demoToken(dir) || '(see HOIST_ADMIN_TOKEN)';
  const versions = demoVersions(repo);
  const data = dataFlag(dir);
  process.stdout.write(
    [
      'Hoist demo is running.',
      `  dashboard   ${server.url}/`,
      `  token       ${token}`,
      `  repository  ${pathToFileURL(repo).href} (${DEMO_PACKAGE} ${versions.join(', ')})`,
      '',
      'Sign in with the token: build runs on each new version, deploy follows it to staging,',
      'and its production stage waits for an approval of each version.',
      `Publish a new version:  ${cli()}${data} demo publish`,
      `From a terminal:        HOIST_SERVER=${server.url} HOIST_TOKEN=${token} ${cli()} pipelines`,
      'Ctrl-C stops the demo; run it again to go on where you were.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function publish(dir: string): Promise<void> {
  const repo = join(dir, 'demo-repo');
  const versions = demoVersions(repo);
  if (versions.length === 0)
    throw new UsageError(
      `no demo repository in ${dir}: run \`${cli()}${dataFlag(dir)} demo\` first`,
    );
  const version = nextVersion(versions);
  writeDemoRepo(repo, [...versions, version]);
  const label = `${DEMO_PACKAGE}-${version}-1.noarch`;
  const url = readText(join(dir, 'demo-server'));
  const token = process.env.HOIST_ADMIN_TOKEN || demoToken(dir);
  const asked = url && token ? await checkNow(url, token) : false;
  process.stdout.write(
    asked
      ? `published ${label}; the demo server checks the repository now: watch build run at ${url}/\n`
      : `published ${label}; start \`${cli()}${dataFlag(dir)} demo\` to see it flow (the server checks every 10 s)\n`,
  );
}

/** Asks the demo server to check its repository now; false when it is not running. */
async function checkNow(url: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/api/materials/check', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'demo' }),
      signal: AbortSignal.timeout(5000),
    });
    return response.status === 202;
  } catch {
    return false;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A clear word for a port that is taken; other errors as they are. */
export function portInUse(error: NodeJS.ErrnoException, port: number): Error {
  return error.code === 'EADDRINUSE'
    ? new UsageError(`port ${port} is in use: choose another with --port (0 picks a free one)`)
    : error;
}

/** How the user runs hoist: through npx after `npm ci` in a clone, else from the PATH. */
function cli(): string {
  return process.env.npm_command === 'exec' ? 'npx hoist' : 'hoist';
}

/** `--data DIR` as the user must repeat it, or nothing for the default folder. */
function dataFlag(dir: string): string {
  return dir === resolve(DEMO_DATA) ? '' : ` --data ${dir}`;
}
