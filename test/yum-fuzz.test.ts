import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { HoistError } from 'hoist';
import { afterAll, describe, expect, it } from 'vitest';
import { primaryXml } from './helpers/handmade-repo.ts';
import { testRuntime } from './helpers/host.ts';

/**
 * Random and mutated repodata thrown at the yum reader: it must never hang, never crash the
 * process, and always answer a revision, nothing, or one of Hoist's errors.
 */
const dir = mkdtempSync(join(tmpdir(), 'hoist-fuzz-'));
mkdirSync(join(dir, 'repodata'));
const url = pathToFileURL(dir).href;
const runtime = testRuntime();
afterAll(async () => {
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = Buffer.from(
  primaryXml([
    { name: 'app', version: '1.0' },
    { name: 'app', version: '1.1', epoch: 1 },
    { name: 'other', version: '2.0', arch: 'x86_64' },
  ]),
);

function writeRepo(primary: Buffer, repomd?: (sum: string, href: string) => string): void {
  const sum = createHash('sha256').update(primary).digest('hex');
  const href = `repodata/${sum}-primary.xml.gz`;
  writeFileSync(join(dir, href), primary);
  writeFileSync(
    join(dir, 'repodata', 'repomd.xml'),
    repomd?.(sum, href) ??
      `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">${sum}</checksum><location href="${href}"/><size>${primary.length}</size></data></repomd>`,
  );
}

async function outcome(): Promise<string> {
  const started = Date.now();
  try {
    const revision = await runtime.host.latestRevision(
      'yum',
      { REPO_URL: url },
      { PACKAGE_SPEC: 'app' },
      { timeoutMs: 10_000 },
    );
    return revision ? 'revision' : 'nothing';
  } catch (error) {
    if (!(error instanceof HoistError)) throw new Error(`not a Hoist error: ${String(error)}`);
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.message).not.toMatch(/\n\s+at /);
    return error.code;
  } finally {
    expect(Date.now() - started).toBeLessThan(10_000);
  }
}

const INSERTS = [
  '<!DOCTYPE x [<!ENTITY a "b">]>',
  '&xxe;',
  '<![CDATA[',
  ']]>',
  '</package>',
  '<package>',
  '<',
  '>',
  '&',
  '"',
  '<!--',
  '-->',
  '<?x ?>',
  '\u0000',
  '\uFFFF',
  'é',
  '<rpm:x>',
  'xmlns:rpm="u"',
];

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...INSERTS), fc.string({ maxLength: 12 })),
  }),
);

function mutate(
  bytes: Buffer,
  steps: { kind: 'flip' | 'cut' | 'insert'; at: number; byte?: number; text?: string }[],
): Buffer {
  let out = Buffer.from(bytes);
  for (const step of steps) {
    const at = out.length === 0 ? 0 : step.at % out.length;
    if (step.kind === 'flip') out[at] = step.byte ?? 0;
    else if (step.kind === 'cut') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(step.text ?? ''), out.subarray(at)]);
  }
  return out;
}

describe('yum reader under fuzzing', () => {
  it('answers mutated primary.xml (gzip and plain) with a revision, nothing or a clear error', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (steps, compress) => {
          const xml = mutate(base, steps);
          writeRepo(compress ? gzipSync(xml) : xml);
          const result = await outcome();
          seen.set(result, (seen.get(result) ?? 0) + 1);
        },
      ),
      { numRuns: 250, seed: 42 },
    );
    // The fuzzing reached both sides: packages read, and malformed input refused.
    expect(seen.get('revision')).toBeGreaterThan(0);
    expect(seen.get('ERR_REPOSITORY_METADATA')).toBeGreaterThan(0);
  }, 120_000);

  it('answers random bytes, and mutated gzip streams', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.array(mutation, { maxLength: 4 }),
        async (noise, steps) => {
          writeRepo(Buffer.from(noise));
          await outcome();
          writeRepo(mutate(gzipSync(base), steps));
          await outcome();
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  }, 120_000);

  it('answers mutated repomd.xml', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 5 }), async (steps) => {
        writeRepo(gzipSync(base), (sum, href) =>
          mutate(
            Buffer.from(
              `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">${sum}</checksum><location href="${href}"/></data></repomd>`,
            ),
            steps,
          ).toString('latin1'),
        );
        await outcome();
      }),
      { numRuns: 150, seed: 11 },
    );
  }, 120_000);
});
