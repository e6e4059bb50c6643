import type { Configuration, PropertyInput, ValidationIssue } from 'hoist';
import { parseConstraint } from './constraint.ts';
import { specProblems } from './spec.ts';

/** How a repository is reached (TLS, proxy, timeout): the same for every bundled plugin. */
export const transportProperties: PropertyInput[] = [
  {
    key: 'CA_CERT',
    displayName: 'CA certificates',
    required: false,
    partOfIdentity: false,
    description: 'PEM text or a file path: extra certificate authorities to trust',
  },
  {
    key: 'CLIENT_CERT',
    displayName: 'Client certificate',
    required: false,
    secure: true,
    description: 'PEM text or a file path: certificate for TLS client authentication',
  },
  {
    key: 'CLIENT_KEY',
    displayName: 'Client key',
    required: false,
    secure: true,
    description: 'PEM text or a file path: private key of the client certificate',
  },
  {
    key: 'TLS_VERIFY',
    displayName: 'Verify TLS certificates',
    required: false,
    partOfIdentity: false,
    defaultValue: 'true',
    description: 'true or false; false accepts any server certificate',
  },
  {
    key: 'PROXY',
    displayName: 'Proxy URL',
    required: false,
    secure: true,
    description: 'http(s) proxy, e.g. http://user:pass@proxy:3128',
  },
  {
    key: 'TIMEOUT',
    displayName: 'Timeout (seconds)',
    required: false,
    partOfIdentity: false,
    defaultValue: '30',
    description: 'Give up when the repository sends nothing for this long',
  },
];

/** Repository properties of the yum plugin (GoCD's keys first, in GoCD's order). */
export const repositoryProperties: PropertyInput[] = [
  {
    key: 'REPO_URL',
    displayName: 'Repository URL',
    // Not required by core: a mirror list or metalink may stand in for it (checked below).
    required: false,
    description: 'Root of the repository (the folder holding repodata/): http, https or file URL',
  },
  { key: 'USERNAME', displayName: 'User', required: false, partOfIdentity: false },
  { key: 'PASSWORD', displayName: 'Password', required: false, secure: true },
  {
    key: 'MIRRORLIST',
    displayName: 'Mirror list URL',
    required: false,
    description: 'A plain-text list of repository base URLs, tried in order (as dnf reads it)',
  },
  {
    key: 'METALINK',
    displayName: 'Metalink URL',
    required: false,
    description: 'A Metalink 3.0 document listing mirrors; repomd.xml must match its hash',
  },
  ...transportProperties,
];

/** Package properties of the yum plugin. */
export const packageProperties: PropertyInput[] = [
  {
    key: 'PACKAGE_SPEC',
    displayName: 'Package Spec',
    description:
      'name, name.arch, name-ver, name-ver-rel(.arch), name-epoch:ver-rel.arch; globs allowed',
  },
  {
    key: 'ARCH',
    displayName: 'Architectures',
    required: false,
    description: 'Comma-separated architectures to consider, e.g. x86_64,noarch',
  },
  {
    key: 'VERSION_CONSTRAINT',
    displayName: 'Version constraint',
    required: false,
    description: "Only versions that satisfy every clause, e.g. '>= 2.0, < 3'",
  },
  {
    key: 'INCLUDE_MODULAR',
    displayName: 'Include modular packages',
    required: false,
    defaultValue: 'false',
    description: 'true to consider packages of module streams, which dnf hides by default',
  },
];

const BOOLEAN = /^(true|false)$/i;

/** Checks a repository configuration the way GoCD's yum plugin words it. */
export function validateRepository(config: Configuration): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const url = config.REPO_URL?.trim() ?? '';
  const hasCredentials = Boolean(config.USERNAME || config.PASSWORD);
  if (url === '' && !config.MIRRORLIST && !config.METALINK) {
    issues.push({ key: 'REPO_URL', message: 'Repository url not specified' });
  }
  for (const key of ['REPO_URL', 'MIRRORLIST', 'METALINK'] as const) {
    const value = config[key]?.trim();
    if (!value) continue;
    const problem = urlProblem(value, { allowFile: true });
    if (problem) issues.push({ key, message: problem });
    else if (hasCredentials && value.startsWith('file:')) {
      issues.push({ key, message: 'File protocol does not support username and/or password.' });
    }
  }
  if (config.USERNAME && !config.PASSWORD) {
    issues.push({ key: 'PASSWORD', message: 'Both Username and password are required.' });
  }
  if (config.PASSWORD && !config.USERNAME) {
    issues.push({ key: 'USERNAME', message: 'Both Username and password are required.' });
  }
  if (config.CLIENT_CERT && !config.CLIENT_KEY) {
    issues.push({ key: 'CLIENT_KEY', message: 'A client certificate needs its private key' });
  }
  if (config.CLIENT_KEY && !config.CLIENT_CERT) {
    issues.push({ key: 'CLIENT_CERT', message: 'A client key needs its certificate' });
  }
  if (config.TLS_VERIFY && !BOOLEAN.test(config.TLS_VERIFY)) {
    issues.push({
      key: 'TLS_VERIFY',
      message: "Verify TLS certificates must be 'true' or 'false'",
    });
  }
  if (config.PROXY) {
    const proxy = safeUrl(config.PROXY);
    if (!proxy || (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')) {
      issues.push({ key: 'PROXY', message: 'Proxy URL must be an http:// or https:// URL' });
    }
  }
  if (config.TIMEOUT && !(Number(config.TIMEOUT) > 0 && Number(config.TIMEOUT) <= 3600)) {
    issues.push({ key: 'TIMEOUT', message: 'Timeout must be a number of seconds from 1 to 3600' });
  }
  return issues;
}

/** Checks a package configuration. */
export function validatePackage(_repo: Configuration, config: Configuration): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const spec = config.PACKAGE_SPEC ?? '';
  if (spec.trim() !== '') {
    for (const message of specProblems(spec)) issues.push({ key: 'PACKAGE_SPEC', message });
  }
  if (config.ARCH !== undefined && config.ARCH !== '') {
    const bad = config.ARCH.split(',')
      .map((a) => a.trim())
      .filter((a) => !/^[A-Za-z0-9_]+$/.test(a));
    if (bad.length > 0) {
      issues.push({
        key: 'ARCH',
        message: `Architectures must be a comma-separated list like 'x86_64,noarch'; not understood: ${bad.map((b) => `'${b}'`).join(', ')}`,
      });
    }
  }
  if (config.VERSION_CONSTRAINT) {
    try {
      parseConstraint(config.VERSION_CONSTRAINT);
    } catch (error) {
      issues.push({ key: 'VERSION_CONSTRAINT', message: (error as Error).message });
    }
  }
  if (config.INCLUDE_MODULAR && !BOOLEAN.test(config.INCLUDE_MODULAR)) {
    issues.push({
      key: 'INCLUDE_MODULAR',
      message: "Include modular packages must be 'true' or 'false'",
    });
  }
  return issues;
}

function urlProblem(value: string, options: { allowFile: boolean }): string | undefined {
  const url = safeUrl(value);
  if (!url) return `Invalid URL : ${value}`;
  const allowed = options.allowFile ? ['http:', 'https:', 'file:'] : ['http:', 'https:'];
  if (!allowed.includes(url.protocol)) {
    return "Invalid URL: Only 'file', 'http' and 'https' protocols are supported.";
  }
  if (url.username || url.password) {
    return 'User info should not be provided as part of the URL. Please provide credentials using USERNAME and PASSWORD configuration keys.';
  }
  return undefined;
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** True for 'true' in any case. */
export function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}
