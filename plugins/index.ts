import type { RepositoryPlugin } from 'hoist';
import { aptPlugin } from './apt/index.ts';
import { yumPlugin } from './yum/index.ts';

/** The plugins that ship with Hoist, registered explicitly (no directory scanning). */
export const bundledPlugins: readonly RepositoryPlugin[] = Object.freeze([yumPlugin, aptPlugin]);
