import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readKeyring, verifyDetached, verifyInRelease } from './signature.ts';

const RELEASE = 'Suite: stable\nCodename: test\nSHA256:\n 00 1 main/binary-all/Packages\n';

describe('Release signatures', () => {
  let signer: openpgp.PrivateKey;
  let stranger: openpgp.PrivateKey;
  let publicArmored: string;

  beforeAll(async () => {
    const made = await openpgp.generateKey({
      userIDs: [{ name: 'Archive', email: 'archive@example.org' }],
      format: 'object',
    });
    signer = made.privateKey;
    publicArmored = made.publicKey.armor();
    stranger = (await openpgp.generateKey({ userIDs: [{ name: 'Other' }], format: 'object' }))
      .privateKey;
  });

  const clearsign = async (key: openpgp.PrivateKey, text = RELEASE) =>
    openpgp.sign({
      message: await openpgp.createCleartextMessage({ text }),
      signingKeys: key,
    });

  it('returns the signed text of a good InRelease', async () => {
    const keys = await readKeyring(publicArmored, 'SIGNED_BY');
    const text = await verifyInRelease(await clearsign(signer), keys, 'http://r/InRelease');
    expect(text.trim()).toBe(RELEASE.trim());
  });

  it('refuses an InRelease signed by another key, tampered with, or not signed', async () => {
    const keys = await readKeyring(publicArmored, 'SIGNED_BY');
    await expect(verifyInRelease(await clearsign(stranger), keys, 'u')).rejects.toThrow(
      /u is not signed by a key of SIGNED_BY/,
    );
    const tampered = (await clearsign(signer)).replace('Codename: test', 'Codename: evil');
    await expect(verifyInRelease(tampered, keys, 'u')).rejects.toThrow(/not signed by a key/);
    await expect(verifyInRelease(RELEASE, keys, 'u')).rejects.toThrow(
      /u is not a clear-signed OpenPGP message/,
    );
  });

  it('checks a detached Release.gpg, armored or binary', async () => {
    const keys = await readKeyring(publicArmored, 'SIGNED_BY');
    const bytes = Buffer.from(RELEASE);
    const message = await openpgp.createMessage({ binary: bytes });
    const armored = await openpgp.sign({ message, signingKeys: signer, detached: true });
    await verifyDetached(bytes, Buffer.from(armored), keys, 'u');
    const binary = await openpgp.sign({
      message,
      signingKeys: signer,
      detached: true,
      format: 'binary',
    });
    await verifyDetached(bytes, binary as Uint8Array, keys, 'u');
    await expect(
      verifyDetached(Buffer.from(`${RELEASE}x`), Buffer.from(armored), keys, 'u'),
    ).rejects.toThrow(/not signed by a key/);
  });

  it('reads binary keyrings and says what is wrong with anything else', async () => {
    const binary = (await openpgp.readKey({ armoredKey: publicArmored })).write();
    expect(await readKeyring(binary, 'k')).toHaveLength(1);
    await expect(readKeyring('not a key', 'SIGNED_BY')).rejects.toThrow(
      /SIGNED_BY holds no OpenPGP public key Hoist can read/,
    );
  });
});
