import { HoistError } from '../errors.ts';
import type { CallOptions, PluginHost } from '../host/plugin-host.ts';
import {
  fromGoCdConfigMap,
  GOCD_REQUEST_NAMES,
  type GoCdRequestName,
  toGoCdProperties,
  toGoCdRevision,
} from './messages.ts';
import type { GoCdRequestBody } from './schemas.ts';

/** A response as GoCD expects it: 200 with a JSON body, or 400/500 with a message. */
export interface GoCdResponse {
  responseCode: 200 | 400 | 500;
  body: string;
}

/**
 * Answers one of GoCD's eight `package-repository` requests for any plugin of the host, so a
 * Hoist plugin can be driven by GoCD's messages. Errors become GoCD's conventions: 400 for an
 * unknown request or a body that is not the expected JSON, 500 with the error's message for a
 * failed call. `latest-revision-since` with nothing newer answers an empty body.
 */
export async function answerGoCdRequest(
  host: PluginHost,
  pluginId: string,
  requestName: string,
  requestBody: string,
  options?: CallOptions,
): Promise<GoCdResponse> {
  if (!isRequestName(requestName)) {
    return { responseCode: 400, body: `Invalid request name ${requestName}` };
  }
  let body: GoCdRequestBody = {};
  if (requestBody.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(requestBody);
    } catch {
      return { responseCode: 400, body: `Request body of ${requestName} is not valid JSON` };
    }
    const { GoCdRequestBody } = await import('./schemas.ts');
    const parsed = GoCdRequestBody.safeParse(json);
    if (!parsed.success) {
      return { responseCode: 400, body: `Request body of ${requestName} has the wrong shape` };
    }
    body = parsed.data;
  }
  const repo = fromGoCdConfigMap(body['repository-configuration']);
  const pkg = fromGoCdConfigMap(body['package-configuration']);
  const ok = (value: unknown): GoCdResponse => ({ responseCode: 200, body: JSON.stringify(value) });
  try {
    const plugin = host.registry.get(pluginId);
    switch (requestName) {
      case 'repository-configuration':
        return ok(toGoCdProperties(plugin.repositoryProperties));
      case 'package-configuration':
        return ok(toGoCdProperties(plugin.packageProperties));
      case 'validate-repository-configuration':
        return ok(await host.validateRepository(pluginId, repo));
      case 'validate-package-configuration':
        return ok(await host.validatePackage(pluginId, repo, pkg));
      case 'check-repository-connection': {
        const result = await host.checkRepositoryConnection(pluginId, repo, options);
        return ok({ status: result.ok ? 'success' : 'failure', messages: result.messages });
      }
      case 'check-package-connection': {
        const result = await host.checkPackageConnection(pluginId, repo, pkg, options);
        return ok({ status: result.ok ? 'success' : 'failure', messages: result.messages });
      }
      case 'latest-revision': {
        const revision = await host.latestRevision(pluginId, repo, pkg, options);
        return ok(revision ? toGoCdRevision(revision) : {});
      }
      case 'latest-revision-since': {
        const previous = body['previous-revision'];
        if (!previous) {
          return { responseCode: 400, body: 'latest-revision-since needs previous-revision' };
        }
        const newer = await host.latestRevisionsSince(
          pluginId,
          repo,
          pkg,
          { revision: previous.revision, timestamp: previous.timestamp, data: previous.data ?? {} },
          options,
        );
        const newest = newer.at(-1);
        // GoCD reads an empty body as "nothing new".
        return newest ? ok(toGoCdRevision(newest)) : { responseCode: 200, body: '' };
      }
    }
  } catch (error) {
    const message = error instanceof HoistError ? error.message : 'Internal error';
    return { responseCode: 500, body: message };
  }
}

function isRequestName(name: string): name is GoCdRequestName {
  return (GOCD_REQUEST_NAMES as readonly string[]).includes(name);
}
