import { defineRepositoryPlugin } from 'hoist';
import {
  packageProperties,
  repositoryProperties,
  validatePackage,
  validateRepository,
} from './config.ts';

/**
 * Reading Release and Packages files loads on the first call: every process registers the
 * bundled plugins, and one that never polls apt (a yum `hoist check`) does without it.
 */
const reading = () => import('./read.ts');

/** The bundled apt plugin: reads Release and Packages files itself and orders as dpkg does. */
export const aptPlugin = defineRepositoryPlugin({
  id: 'apt',
  version: '1.0.0',
  displayName: 'Apt repository',
  description:
    'Polls a Debian/Ubuntu (apt) repository: verifies InRelease against SIGNED_BY, reads Packages natively (xz, gz, zstd, bz2), picks the newest package by dpkg version order.',
  repositoryProperties,
  packageProperties,
  validateRepository,
  validatePackage,

  async checkRepositoryConnection(repo, ctx) {
    return (await reading()).checkRelease(repo, ctx);
  },

  async checkPackageConnection(repo, pkg, ctx) {
    return (await reading()).checkPackage(repo, pkg, ctx);
  },

  async latestRevision(repo, pkg, ctx) {
    return (await reading()).newestRevision(repo, pkg, ctx);
  },

  async latestRevisionsSince(repo, pkg, previous, ctx) {
    return (await reading()).revisionsSince(repo, pkg, previous, ctx);
  },

  async revisionByLabel(repo, pkg, label, ctx) {
    return (await reading()).revisionByLabel(repo, pkg, label, ctx);
  },
});

export { type ConstraintClause, parseConstraint, satisfies } from './constraint.ts';
export {
  compareDebVersions,
  compareVersionStrings,
  type DebVersion,
  formatDebVersion,
  parseDebVersion,
} from './version.ts';
