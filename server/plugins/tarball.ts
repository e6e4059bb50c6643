import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ConfigInvalidError } from 'hoist';
import tar from 'tar-stream';

/** A plugin package that cannot be installed (a configuration error: exit 2). */
export class PluginPackageError extends ConfigInvalidError {
  constructor(message: string) {
    super([{ key: '', message }]);
  }
}

/** How large a plugin tarball may unpack: each file, and all files together. */
export interface TarballLimits {
  entryBytes: number;
  totalBytes: number;
}

/** 256 MiB a file, 512 MiB in all. */
export const TARBALL_LIMITS: TarballLimits = { entryBytes: 256 << 20, totalBytes: 512 << 20 };

const mib = (bytes: number) => `${Math.round(bytes / (1 << 20))} MiB`;

/**
 * Extracts a (gzipped) tarball into `target`, streaming each file to disk (never whole in
 * memory), refusing anything that could escape or is not a plain file, and any file or total
 * past `limits`. On a refusal part of the files may be written: the caller removes `target`.
 */
export async function extractTarball(
  file: string,
  target: string,
  limits: TarballLimits = TARBALL_LIMITS,
): Promise<void> {
  const extract = tar.extract();
  const stream = (await isGzip(file))
    ? createReadStream(file).pipe(createGunzip())
    : createReadStream(file);
  stream.on('error', (error: Error) =>
    extract.destroy(new PluginPackageError(`not a readable tarball: ${error.message}`)),
  );
  stream.pipe(extract);
  let files = 0;
  const total = { bytes: 0 };
  try {
    for await (const entry of extract) {
      const path = entryPath(entry.header, target);
      if (entry.header.type === 'directory') {
        await mkdir(path, { recursive: true });
        entry.resume();
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      await writeEntry(entry, path, entry.header, limits, total);
      files++;
    }
  } catch (error) {
    stream.destroy();
    if (error instanceof PluginPackageError) throw error;
    // A file that cannot be written (a full disk) is not the tarball's fault.
    if ((error as NodeJS.ErrnoException).syscall)
      throw new PluginPackageError(`cannot unpack the plugin: ${(error as Error).message}`);
    throw new PluginPackageError(`not a readable tarball: ${(error as Error).message}`);
  }
  if (files === 0) throw new PluginPackageError('the tarball holds no files');
}

async function isGzip(file: string): Promise<boolean> {
  const head = await new Promise<Buffer>((resolveHead, reject) => {
    const probe = createReadStream(file, { start: 0, end: 1 });
    probe.once('data', (d) => resolveHead(d as Buffer));
    probe.once('error', reject);
    probe.once('end', () => resolveHead(Buffer.alloc(0)));
  });
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Where an entry goes inside `target`; refused when it could escape or is not a file or folder. */
function entryPath(header: tar.Header, target: string): string {
  const { name, type } = header;
  if (isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
    throw new PluginPackageError(`tarball entry '${name}' would be written outside the plugin`);
  }
  if (type !== 'file' && type !== 'directory') {
    throw new PluginPackageError(
      `tarball entry '${name}' is a ${type}; only files and folders are allowed`,
    );
  }
  // npm pack puts everything under package/.
  const path = join(target, normalize(name.replace(/^package\//, '')));
  if (!path.startsWith(target + sep) && path !== target) {
    throw new PluginPackageError(`tarball entry '${name}' would be written outside the plugin`);
  }
  return path;
}

/** Streams one file to disk, counting its bytes against the limits as they come. */
async function writeEntry(
  entry: AsyncIterable<unknown>,
  path: string,
  header: tar.Header,
  limits: TarballLimits,
  total: { bytes: number },
): Promise<void> {
  const tooLarge = (size: number) =>
    size > limits.entryBytes
      ? `tarball entry '${header.name}' is larger than ${mib(limits.entryBytes)} (the most a plugin file may be)`
      : total.bytes + size > limits.totalBytes
        ? `the tarball unpacks to more than ${mib(limits.totalBytes)} (the most a plugin may be)`
        : undefined;
  const declared = tooLarge(header.size ?? 0);
  if (declared) throw new PluginPackageError(declared);
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      const problem = tooLarge(bytes);
      done(problem ? new PluginPackageError(problem) : null, chunk);
    },
  });
  await pipeline(entry, count, createWriteStream(path, { mode: (header.mode ?? 0o644) & 0o755 }));
  total.bytes += bytes;
}
