import { describe, expect, it } from 'vitest';
import { utf8Boundary } from './log-uploader.ts';

describe('utf8Boundary', () => {
  it('keeps whole characters only', () => {
    const text = Buffer.from('ab€ü😀');
    expect(utf8Boundary(text)).toBe(text.length);
    for (let cut = 0; cut <= text.length; cut++) {
      const end = utf8Boundary(text.subarray(0, cut));
      expect(end).toBeLessThanOrEqual(cut);
      expect(Buffer.from(text.subarray(0, end).toString('utf8')).length).toBe(end);
      expect(text.subarray(0, end).toString('utf8')).not.toContain('\uFFFD');
    }
    expect(utf8Boundary(Buffer.from('ab€').subarray(0, 3))).toBe(2);
  });
});
