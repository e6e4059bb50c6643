import type { Configuration, PropertyInput, ValidationIssue } from 'hoist';
import { transportProperties, validateRepository as validateAccess } from '../yum/config.ts';
import { globToRegExp } from '../yum/spec.ts';
import { parseConstraint } from './constraint.ts';

/** ARCH when not set: Debian's release architectures, amd64 (the native one) first, and `all`. */
export const DEFAULT_ARCHES = 'amd64,arm64,armhf,i386,ppc64el,s390x,riscv64,all';

/** Repository properties of the apt plugin (a sources.list entry, as properties). */
export const repositoryProperties: PropertyInput[] = [
  {
    key: 'REPO_URL',
    displayName: 'Repository URL',
    description:
      'Root of the archive (the folder holding dists/ and pool/): http, https or file URL',
  },
  {
    key: 'DISTRIBUTION',
    displayName: 'Distribution',
    description:
      "Suite or codename (e.g. bookworm), or a flat repository's folder ending in / (e.g. ./)",
  },
  {
    key: 'COMPONENTS',
    displayName: 'Components',
    required: false,
    defaultValue: 'main',
    description: 'Space- or comma-separated components, in order (ignored for a flat repository)',
  },
  {
    key: 'ARCH',
    displayName: 'Architectures',
    required: false,
    defaultValue: DEFAULT_ARCHES,
    description: 'Architectures, the native one first; all adds Architecture: all packages',
  },
  { key: 'USERNAME', displayName: 'User', required: false, partOfIdentity: false },
  { key: 'PASSWORD', displayName: 'Password', required: false, secure: true },
  {
    key: 'SIGNED_BY',
    displayName: 'Signed by',
    required: false,
    partOfIdentity: false,
    description:
      'ASCII-armored OpenPGP public key, or a keyring file path: the Release must verify',
  },
  ...transportProperties,
];

/** Package properties of the apt plugin. */
export const packageProperties: PropertyInput[] = [
  { key: 'PACKAGE', displayName: 'Package', description: 'Binary package name; globs allowed' },
  {
    key: 'VERSION_CONSTRAINT',
    displayName: 'Version constraint',
    required: false,
    description: "Only versions that satisfy every clause, in Debian syntax, e.g. '>= 2.0, << 3'",
  },
];

const NAME = /^[a-z0-9][a-z0-9+.-]*$/;

/** Splits a list property (spaces or commas). */
export function listOf(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

/** Is DISTRIBUTION a flat repository's folder (`./`, `subdir/`)? */
export function isFlat(distribution: string): boolean {
  return distribution.endsWith('/');
}

/** Checks a repository configuration. */
export function validateRepository(config: Configuration): ValidationIssue[] {
  const issues = validateAccess({ ...config, MIRRORLIST: '', METALINK: '' });
  const distribution = config.DISTRIBUTION?.trim() ?? '';
  if (distribution === '')
    issues.push({ key: 'DISTRIBUTION', message: 'Distribution not specified' });
  else if (/\s/.test(distribution) || distribution.includes('..') || distribution.startsWith('/'))
    issues.push({
      key: 'DISTRIBUTION',
      message: `Distribution must be a suite name or a folder under the repository, got '${distribution}'`,
    });
  const badComponents = listOf(config.COMPONENTS).filter(
    (c) => !/^[A-Za-z0-9._/-]+$/.test(c) || c.includes('..'),
  );
  if (badComponents.length > 0)
    issues.push({
      key: 'COMPONENTS',
      message: `Components not understood: ${badComponents.map((c) => `'${c}'`).join(', ')}`,
    });
  if (config.ARCH !== undefined && config.ARCH !== '') {
    const bad = listOf(config.ARCH).filter((a) => !/^[a-z0-9-]+$/.test(a));
    if (bad.length > 0 || listOf(config.ARCH).length === 0)
      issues.push({
        key: 'ARCH',
        message: `Architectures must be a list like 'amd64,all'; not understood: ${bad.map((b) => `'${b}'`).join(', ')}`,
      });
  }
  return issues;
}

/** Checks a package configuration. */
export function validatePackage(_repo: Configuration, config: Configuration): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const name = config.PACKAGE?.trim() ?? '';
  if (name === '') issues.push({ key: 'PACKAGE', message: 'Package not specified' });
  else {
    const problem = namePatternProblem(name);
    if (problem) issues.push({ key: 'PACKAGE', message: problem });
  }
  if (config.VERSION_CONSTRAINT) {
    try {
      parseConstraint(config.VERSION_CONSTRAINT);
    } catch (error) {
      issues.push({ key: 'VERSION_CONSTRAINT', message: (error as Error).message });
    }
  }
  return issues;
}

function namePatternProblem(name: string): string | undefined {
  if (/[\s,]/.test(name)) return 'Package must name one package: no spaces or commas';
  try {
    globToRegExp(name);
  } catch (error) {
    return (error as Error).message.replace('Package spec', 'Package');
  }
  const literal = name.replace(/\[[^\]]*\]|[*?]/g, 'a');
  return NAME.test(literal.toLowerCase()) && literal === literal.toLowerCase()
    ? undefined
    : `Package '${name}' is not a Debian package name (lower-case letters, digits, + - .; globs allowed)`;
}

/** PACKAGE as a pattern. */
export function namePattern(name: string): RegExp {
  return globToRegExp(name.trim());
}
