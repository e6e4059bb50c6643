import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, keptAnswers } from './answers.ts';

describe('acceptsGzip', () => {
  it('takes gzip when offered, alone, in a list, with a weight, or as *', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('br, gzip, deflate')).toBe(true);
    expect(acceptsGzip('GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip(['deflate', 'gzip'])).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
  });
  it('refuses gzip when absent or weighted 0', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('')).toBe(false);
    expect(acceptsGzip('br, deflate')).toBe(false);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('x-gzip2')).toBe(false);
  });
});

describe('keptAnswers', () => {
  it('builds again only when the key changes, and never keeps an answer without a key', async () => {
    const answers = keptAnswers<string>(2);
    let builds = 0;
    const build = async () => `[${++builds}]`;
    const first = await answers('a', 'k1', build);
    expect(first.body.toString()).toBe('[1]');
    expect(await answers('a', 'k1', build)).toBe(first);
    expect((await answers('a', 'k2', build)).body.toString()).toBe('[2]');
    expect((await answers('a', undefined, build)).body.toString()).toBe('[3]');
    expect((await answers('a', undefined, build)).body.toString()).toBe('[4]');
  });

  it('keeps at most `limit` slots, dropping the oldest', async () => {
    const answers = keptAnswers<number>(2);
    let builds = 0;
    const build = async () => `[${++builds}]`;
    await answers(1, 'k', build);
    await answers(2, 'k', build);
    await answers(3, 'k', build);
    expect(builds).toBe(3);
    await answers(3, 'k', build);
    await answers(2, 'k', build);
    expect(builds).toBe(3);
    await answers(1, 'k', build);
    expect(builds).toBe(4);
  });

  it('compresses a large kept answer once, to the same bytes, and leaves a small one plain', async () => {
    const answers = keptAnswers<string>(1);
    const large = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ i, name: `p${i}` })));
    const answer = await answers('a', 'k', async () => large);
    const packed = await answer.gzipped?.();
    expect(packed && gunzipSync(packed).toString()).toBe(large);
    expect(packed && packed.length < large.length / 4).toBe(true);
    expect(answer.gzipped?.()).toBe(answer.gzipped?.());
    expect((await answers('b', 'k', async () => '[]')).gzipped).toBeUndefined();
  });
});
