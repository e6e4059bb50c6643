import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NewestPackages, type Selection, selectStream } from './choose.ts';
import { parseConstraint } from './constraint.ts';
import { emptyPackage, type PrimaryPackage } from './primary.ts';
import { parsePackageSpec } from './spec.ts';

function pkg(name: string, arch: string, version: string, release = '1', epoch = '0') {
  return {
    ...emptyPackage(),
    name,
    arch,
    epoch,
    version,
    release,
    checksum: `${name}-${epoch}:${version}-${release}.${arch}`,
    checksumType: 'sha256',
    href: `Packages/${name}-${version}.rpm`,
  } satisfies PrimaryPackage;
}

const selection = (spec: string, constraint?: string): Selection => ({
  spec: parsePackageSpec(spec),
  arches: undefined,
  constraint: constraint ? parseConstraint(constraint) : undefined,
  modular: undefined,
});

const kept = (
  packages: PrimaryPackage[],
  sel: Selection,
  limits?: { versions: number; packages: number },
) => {
  const newest = new NewestPackages(sel, limits);
  for (const p of packages) newest.add(p);
  return newest;
};

const labels = (packages: PrimaryPackage[]) =>
  packages.map((p) => `${p.name}-${p.epoch}:${p.version}-${p.release}.${p.arch}`);

/** Packages of a few names and arches at small versions, duplicates included. */
const packagesArb = fc.array(
  fc
    .record({
      name: fc.constantFrom('app', 'app-devel'),
      arch: fc.constantFrom('noarch', 'x86_64'),
      version: fc.integer({ min: 0, max: 30 }),
      release: fc.integer({ min: 1, max: 3 }),
    })
    .map((r) => pkg(r.name, r.arch, `1.${r.version}`, String(r.release))),
  { maxLength: 120 },
);

describe('plugins/yum/choose NewestPackages', () => {
  it('gives selectStream what every package would, newest versions only', () => {
    fc.assert(
      fc.property(
        packagesArb,
        fc.constantFrom('app', 'app.x86_64', 'app*'),
        fc.integer({ min: 1, max: 40 }),
        (packages, spec, versions) => {
          const sel = selection(spec);
          const answer = (list: PrimaryPackage[]) => {
            try {
              return labels(selectStream(list, sel));
            } catch (error) {
              return (error as Error).message.replace(/\. Narrow.*/, '');
            }
          };
          const all = answer(packages);
          const ample = kept(packages, sel, { versions: 1000, packages: 1000 });
          expect(answer(ample.packages())).toEqual(all);
          expect(ample.dropped).toBe(0);
          const few = answer(kept(packages, sel, { versions, packages: 1000 }).packages());
          expect(few).toEqual(typeof all === 'string' ? all : all.slice(-versions));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps the newest of 200,000 versions of one name, in whatever order they come', () => {
    const newest = new NewestPackages(selection('app'));
    const order = Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 200_000);
    for (const i of order) newest.add(pkg('app', 'x86_64', `1.${i}`));
    const list = selectStream(newest.packages(), selection('app'));
    expect(list).toHaveLength(10_000);
    expect(list.at(-1)?.version).toBe('1.199999');
    expect(list[0]?.version).toBe('1.190000');
    expect(newest.dropped).toBe(190_000);
  });

  it('bounds the packages kept in all when a spec matches many streams, and still names them', () => {
    const packages: PrimaryPackage[] = [];
    for (let n = 0; n < 50; n++) {
      for (let v = 0; v < 400; v++) packages.push(pkg(`app${n}`, 'noarch', `1.${v}`));
    }
    const newest = kept(packages, selection('app*'), { versions: 1000, packages: 2000 });
    expect(newest.packages().length).toBeLessThanOrEqual(2000);
    expect(() => selectStream(newest.packages(), selection('app*'))).toThrow(
      /matches more than one package: app0\.noarch, app1\.noarch, .*\(50 in all\)/,
    );
  });

  it('leaves what the constraint refuses out of the count', () => {
    const packages = [1, 2, 3, 4, 5].map((v) => pkg('app', 'noarch', `${v}.0`));
    const newest = kept(packages, selection('app', '< 3'), { versions: 1, packages: 10 });
    expect(labels(newest.packages())).toEqual(['app-0:2.0-1.noarch']);
  });
});
