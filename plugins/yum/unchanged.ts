import type { Configuration, PluginContext } from 'hoist';
import { repositoryAccess } from './access.ts';
import { send } from './fetch.ts';
import {
  conditionalHeaders,
  lastAnswer,
  notModified,
  type RepositoryRead,
  repomdUrl,
} from './repository.ts';

/**
 * The read of a repository that has not changed since the answer kept in the state, made with
 * one conditional request for repomd.xml and nothing else: `readRepository`'s answer when the
 * repository answers 304. Undefined when anything more would be needed (no answer kept, a
 * metalink or mirror list to read first, any answer but 304): the caller then reads the
 * repository as usual. The server makes this call in its own thread, before it sends the whole
 * read to a worker: most checks of a quiet repository end here.
 */
export async function readRepositoryIfUnchanged(
  repo: Configuration,
  pkg: Configuration,
  ctx: PluginContext,
): Promise<RepositoryRead | undefined> {
  const base = repo.REPO_URL;
  if (!base || repo.METALINK || repo.MIRRORLIST) return undefined;
  const { selection, cached } = lastAnswer(repo, pkg, ctx);
  const headers = conditionalHeaders(base, cached?.conditional);
  if (!cached || Object.keys(headers).length === 0) return undefined;
  const access = await repositoryAccess(repo, ctx);
  const url = repomdUrl(base);
  const response = await send(ctx, access, url, headers);
  await response.cancel();
  return response.status === 304 ? notModified(cached, selection, base, url) : undefined;
}
