import { RepositoryMetadataError } from 'hoist';

/**
 * OpenPGP checks of Release files, as apt makes them with `Signed-By`: an InRelease file must be
 * a clear-signed message, a Release file needs its detached Release.gpg, and at least one
 * signature must be good and made by one of the given keys (a primary key or a subkey).
 * OpenPGP.js does the cryptography (no gpg binary, no keyring on disk).
 */

type OpenPgp = typeof import('openpgp');
type Key = import('openpgp').Key;
let loaded: Promise<OpenPgp> | undefined;
/** Loaded on first use: repositories without SIGNED_BY never need it. */
const openpgp = () => {
  loaded ??= import('openpgp');
  return loaded;
};

/** Reads the keys of SIGNED_BY: ASCII-armored text or the bytes of a keyring file. */
export async function readKeyring(source: string | Uint8Array, what: string): Promise<Key[]> {
  const pgp = await openpgp();
  try {
    const text = typeof source === 'string' ? source : Buffer.from(source).toString('latin1');
    const keys = text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')
      ? await pgp.readKeys({ armoredKeys: armoredOnly(text) })
      : await pgp.readKeys({
          binaryKeys: typeof source === 'string' ? Buffer.from(source, 'latin1') : source,
        });
    if (keys.length === 0) throw new Error('no key found');
    return keys;
  } catch (error) {
    throw new RepositoryMetadataError(
      `${what} holds no OpenPGP public key Hoist can read (${firstLine(error)}); give an ASCII-armored key or a binary keyring (not a keybox)`,
    );
  }
}

/** The armored key blocks of a text (several blocks are joined into one list). */
function armoredOnly(text: string): string {
  const blocks = text.match(
    /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g,
  );
  return (blocks ?? []).join('\n');
}

/** Verifies a clear-signed InRelease file; returns the signed text. */
export async function verifyInRelease(text: string, keys: Key[], url: string): Promise<string> {
  const pgp = await openpgp();
  let message: Awaited<ReturnType<OpenPgp['readCleartextMessage']>>;
  try {
    message = await pgp.readCleartextMessage({ cleartextMessage: text });
  } catch (error) {
    throw new RepositoryMetadataError(
      `${url} is not a clear-signed OpenPGP message: ${firstLine(error)}`,
    );
  }
  const result = await pgp.verify({ message, verificationKeys: keys });
  await requireGoodSignature(result.signatures, keys, url);
  return message.getText();
}

/** Verifies Release against its detached signature Release.gpg. */
export async function verifyDetached(
  release: Uint8Array,
  signature: Uint8Array,
  keys: Key[],
  url: string,
): Promise<void> {
  const pgp = await openpgp();
  let parsed: Awaited<ReturnType<OpenPgp['readSignature']>>;
  try {
    const text = Buffer.from(signature).toString('latin1');
    parsed = text.includes('-----BEGIN PGP SIGNATURE-----')
      ? await pgp.readSignature({ armoredSignature: text })
      : await pgp.readSignature({ binarySignature: signature });
  } catch (error) {
    throw new RepositoryMetadataError(
      `${url}.gpg is not an OpenPGP signature: ${firstLine(error)}`,
    );
  }
  const message = await pgp.createMessage({ binary: release });
  const result = await pgp.verify({ message, signature: parsed, verificationKeys: keys });
  await requireGoodSignature(result.signatures, keys, url);
}

async function requireGoodSignature(
  signatures: { keyID: { toHex(): string }; verified: Promise<true> }[],
  keys: Key[],
  url: string,
): Promise<void> {
  if (signatures.length === 0) throw new RepositoryMetadataError(`${url} carries no signature`);
  const problems: string[] = [];
  for (const signature of signatures) {
    try {
      await signature.verified;
      return;
    } catch (error) {
      problems.push(`${signature.keyID.toHex().toUpperCase()}: ${firstLine(error)}`);
    }
  }
  const known = keys.map((k) => k.getKeyID().toHex().toUpperCase()).join(', ');
  throw new RepositoryMetadataError(
    `${url} is not signed by a key of SIGNED_BY (${known}): ${problems.join('; ')}`,
  );
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] as string;
}
