import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An answer as JSON bytes, and its gzip form when it is kept and large enough to be worth it. */
export interface Answer {
  body: Buffer;
  gzipped?: () => Promise<Buffer>;
}

/** Kept answers smaller than this are sent as they are. */
const GZIP_FROM = 32 * 1024;
const compress = promisify(gzip);

/**
 * Answers kept as bytes while their key holds (a store's change mark and what else they depend
 * on): a repeated request costs one cheap read. Without a key, every answer is built anew. A
 * kept answer is compressed once, off the event loop, when a client first asks for gzip.
 */
export function keptAnswers<K>(limit: number) {
  const kept = new Map<K, { key: string; answer: Answer }>();
  return async (slot: K, key: string | undefined, build: () => Promise<string>) => {
    const hit = kept.get(slot);
    if (key !== undefined && hit?.key === key) return hit.answer;
    const body = Buffer.from(await build());
    if (key === undefined) return { body };
    let packed: Promise<Buffer> | undefined;
    const answer: Answer = { body };
    if (body.length >= GZIP_FROM) {
      answer.gzipped = () => {
        packed ??= compress(body, { level: constants.Z_BEST_SPEED });
        return packed;
      };
    }
    kept.delete(slot);
    kept.set(slot, { key, answer });
    if (kept.size > limit) kept.delete(kept.keys().next().value as K);
    return answer;
  };
}

/** Does an `Accept-Encoding` header take gzip (not refused with `q=0`)? */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name?.trim() !== 'gzip' && name?.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Sends a JSON answer, compressed when it has a gzip form and the client takes gzip. */
export async function sendAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer,
): Promise<FastifyReply> {
  reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
  if (answer.gzipped && acceptsGzip(request.headers['accept-encoding']))
    return reply.header('content-encoding', 'gzip').send(await answer.gzipped());
  return reply.send(answer.body);
}
