import { describe, expect, it } from 'vitest';
import { MASK, masker, streamMasker } from './masking.ts';

/** Masks `pieces` one after another through one stream masker. */
function streamed(secrets: string[], pieces: string[]): string {
  const m = streamMasker(secrets);
  return pieces.map((p) => m.push(p)).join('') + m.flush();
}

const SECRETS = ['p@ss:w/rd', 'tok-123456', 'tok-1234567890'];
const TEXT = `a p@ss:w/rd b p%40ss%3Aw%2Frd c tok-123456 d tok-1234567890 e tok-12345 f p@ss:w/r`;

describe('server/pipelines/masking', () => {
  it('masks secrets in raw and URL-encoded form, ignoring values under 3 characters', () => {
    const mask = masker(['p@ss:w/rd', 'ab']);
    expect(mask('x p@ss:w/rd y p%40ss%3Aw%2Frd z ab')).toBe('x ******** y ******** z ab');
  });

  it('masks the URL encodings that common encoders write, with upper- or lower-case escapes', () => {
    const secret = "s3cr3t/Key+val it's";
    const mask = masker([secret]);
    const forms = [
      encodeURIComponent(secret), // s3cr3t%2FKey%2Bval%20it's
      's3cr3t/Key%2Bval%20it%27s', // Python quote (safe '/')
      's3cr3t%2FKey%2Bval+it%27s', // Python quote_plus
      new URLSearchParams({ k: secret }).toString().slice(2), // form encoding
      encodeURI(secret),
      's3cr3t%2fkey%2bval%20it%27s'.replace('key', 'Key'), // lower-case escapes
    ];
    for (const form of forms) expect(mask(`[${form}]`), form).toBe(`[${MASK}]`);
    expect(streamed([secret], ['x s3cr3t%2f', 'Key%2bval+it', '%27s y'])).toBe(`x ${MASK} y`);
  });

  it('masks the same as the whole text whatever the one cut', () => {
    const whole = masker(SECRETS)(TEXT);
    expect(whole).toBe(`a ${MASK} b ${MASK} c ${MASK} d ${MASK} e tok-12345 f p@ss:w/r`);
    for (let i = 0; i <= TEXT.length; i++) {
      expect(streamed(SECRETS, [TEXT.slice(0, i), TEXT.slice(i)]), `cut at ${i}`).toBe(whole);
    }
  });

  it('masks the same whatever two cuts, and a text sent one character at a time', () => {
    const whole = masker(SECRETS)(TEXT);
    for (let i = 0; i <= TEXT.length; i++) {
      for (let j = i; j <= TEXT.length; j++) {
        const pieces = [TEXT.slice(0, i), TEXT.slice(i, j), TEXT.slice(j)];
        expect(streamed(SECRETS, pieces), `cuts at ${i}, ${j}`).toBe(whole);
      }
    }
    expect(streamed(SECRETS, [...TEXT])).toBe(whole);
  });

  it('never lets out a longer secret half masked by a shorter one that starts it', () => {
    // tok-123456 is complete before tok-1234567890 is: the shorter one must not win early.
    expect(streamed(SECRETS, ['x tok-123456', '7890 y'])).toBe(`x ${MASK} y`);
    expect(streamed(SECRETS, ['x tok-123456', ' y'])).toBe(`x ${MASK} y`);
  });

  it('holds back no more than could start a secret, and writes it at the end', () => {
    const m = streamMasker(['secret-value']);
    expect(m.push('line one\nsecret-')).toBe('line one\n');
    expect(m.push('val')).toBe('');
    expect(m.push('ue!\nsecr')).toBe(`${MASK}!\n`);
    expect(m.flush()).toBe('secr');
    expect(streamMasker([]).push('as is')).toBe('as is');
  });

  it('keeps what it holds back under the length of the longest secret', () => {
    const m = streamMasker(['abcabcabcx']);
    let out = '';
    for (let i = 0; i < 1000; i++) out += m.push('abc');
    expect(out.length).toBeGreaterThanOrEqual(3000 - 9);
    expect(out + m.flush()).toBe('abc'.repeat(1000));
  });
});
