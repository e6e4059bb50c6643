import { pathToFileURL } from 'node:url';
import { type Configuration, type PluginContext, RepositoryMetadataError } from 'hoist';
import { isTrue } from './config.ts';
import type { RepositoryAccess } from './fetch.ts';
import { readAll } from './fetch.ts';
import { configuredOrigins } from './trust.ts';

/** Builds the access settings of a repository; PEM values given as paths are read via ctx. */
export async function repositoryAccess(
  config: Configuration,
  ctx: PluginContext,
): Promise<RepositoryAccess> {
  const [ca, cert, key] = await Promise.all([
    pem(config.CA_CERT, 'CA_CERT', ctx),
    pem(config.CLIENT_CERT, 'CLIENT_CERT', ctx),
    pem(config.CLIENT_KEY, 'CLIENT_KEY', ctx),
  ]);
  const verify = config.TLS_VERIFY === undefined ? true : isTrue(config.TLS_VERIFY);
  const tls = ca || cert || key || !verify ? { ca, cert, key, verify } : undefined;
  return {
    auth:
      config.USERNAME && config.PASSWORD
        ? { username: config.USERNAME, password: config.PASSWORD }
        : undefined,
    tls: tls && stripUndefined(tls),
    proxy: config.PROXY || undefined,
    timeoutMs: Math.round(Number(config.TIMEOUT || 30) * 1000),
    origins: configuredOrigins(config),
  };
}

async function pem(value: string | undefined, key: string, ctx: PluginContext) {
  if (!value) return undefined;
  if (value.includes('-----BEGIN')) return value;
  const response = await ctx.http.request({ url: pathToFileURL(value).href, signal: ctx.signal });
  if (response.status !== 200) {
    await response.cancel();
    throw new RepositoryMetadataError(`${key}: cannot read the file ${value}`);
  }
  return (await readAll(response, `${key} file ${value}`, 1 << 20)).toString('utf8');
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
