// make-repo.mjs OUTDIR: build and sign a small TUF repository with
// @tufjs/models (tuf-js's metadata model), for Ferry to verify.
//
// The repository is deliberately awkward for a canonical-JSON
// implementation: mixed key types (ed25519 and ECDSA P-256), non-ASCII and
// control characters in strings, non-ASCII object keys, and fields the TUF
// spec does not define.  Every signature is made over the bytes
// @tufjs/models canonicalizes, so Ferry passes only if its canonical form
// agrees with tuf-js's byte for byte.
//
// Written: root.json targets.json apps.json snapshot.json timestamp.json,
// targets/<path> (the target files, so tuf-js's own client can fetch
// them), keys/<keyid>.json (public key objects, to check Ferry's key ids)
// and expect.txt (what `ferry-tuftool verify` should print, in the order
// tests/e2e/interop_tufjs.sh runs it).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import {
  Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets,
  Timestamp,
} from '@tufjs/models';

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node make-repo.mjs OUTDIR');
  process.exit(2);
}

// TUF wants "YYYY-MM-DDTHH:MM:SSZ"; toISOString() adds milliseconds, which
// a strict parser may refuse, so they are cut off.
const expires = new Date(Date.now() + 365 * 86400e3)
  .toISOString().replace(/\.\d{3}Z$/, 'Z');
const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

// A signing key: its public TUF key object (id computed the way the spec
// says, since @tufjs/models takes key ids on trust) and the signer
// callback Metadata.sign() expects.
function makeKey(kind) {
  let pair, keyType, scheme, pub, algorithm;
  if (kind === 'ed25519') {
    pair = crypto.generateKeyPairSync('ed25519');
    keyType = scheme = 'ed25519';
    // TUF's ed25519 public key is the raw 32 bytes, hex; JWK's x is them.
    pub = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x, 'base64url')
      .toString('hex');
    algorithm = null; // Ed25519 hashes internally
  } else {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    keyType = 'ecdsa';
    scheme = 'ecdsa-sha2-nistp256';
    pub = pair.publicKey.export({ type: 'spki', format: 'pem' });
    algorithm = 'sha256'; // node's default dsaEncoding is DER, as TUF wants
  }
  const keyJSON = { keytype: keyType, scheme, keyval: { public: pub } };
  const keyID = sha256(canonicalize(keyJSON));
  const key = new Key({ keyID, keyType, scheme, keyVal: { public: pub } });
  // Contract (see Metadata.sign in @tufjs/models): called with a Buffer of
  // canonicalize(signed.toJSON()); returns a Signature whose keyID indexes
  // metadata.signatures.
  const signer = (bytes) => new Signature({
    keyID,
    sig: crypto.sign(algorithm, bytes, pair.privateKey).toString('hex'),
  });
  return { key, keyJSON, signer };
}

const rootEd = makeKey('ed25519');
const rootEc = makeKey('ecdsa');
const targetsEc = makeKey('ecdsa');
const snapshotEd = makeKey('ed25519');
const timestampEd = makeKey('ed25519');
const appsEd = makeKey('ed25519');

// Target files: paths and contents are arbitrary but fixed.
const files = {
  'files/hello.txt': 'hello from tuf-js\n',
  'files/grüße-日本語.txt': 'Grüße aus Node.js, 日本語のテキスト\n',
  'apps/demo.img': 'not really a disk image\n',
};
function targetFile(p, custom) {
  const bytes = Buffer.from(files[p], 'utf8');
  return new TargetFile({
    path: p,
    length: bytes.length,
    hashes: { sha256: sha256(bytes) },
    unrecognizedFields: custom ? { custom } : {},
  });
}

// Object keys stay within the BMP: canonical JSON sorts keys bytewise in
// UTF-8, tuf-js sorts by UTF-16 code units, and the two orders differ only
// for characters above U+FFFF.  Values carry such characters freely.
const custom = {
  greeting: 'Grüße, 日本語, emoji U+1F600 \u{1F600} is NOT allowed in keys',
  controls: 'soh\u0001 us\u001f tab\t nl\n del\u007f end',
  quoting: 'say "hi" \\ back\\slash \\"both\\" /solidus',
  'ключ': 'значение',
  'é': 'e-acute key',
  'E': 'capital E sorts before a and é',
  'a': 'lower a',
  '日本': ['配列', 1, -42, 0, 9007199254740991, true, false, null, {}],
  'Ａ': 'fullwidth A (U+FF21) sorts after every key above',
  nested: { z: { y: ['x', { 'ü': 'w' }] }, '': 'empty key' },
  // Control characters in key names too; they sort before printable ones.
  'ctl\u0001key': 'SOH inside a key',
  'tab\tand\nnewline': 'whitespace controls inside a key',
  '\u001fus-first': 'a key starting with US',
  'del\u007fkey': 'DEL inside a key',
};

const root = new Metadata(new Root({
  specVersion: '1.0.31',
  version: 1,
  expires,
  // Matches the flat file names this script writes.
  consistentSnapshot: false,
}));
root.signed.addKey(rootEd.key, 'root');
root.signed.addKey(rootEc.key, 'root');
root.signed.roles.root.threshold = 2;
root.signed.addKey(targetsEc.key, 'targets');
root.signed.addKey(snapshotEd.key, 'snapshot');
root.signed.addKey(timestampEd.key, 'timestamp');
root.sign(rootEd.signer);
root.sign(rootEc.signer);

// Built from JSON because the package's index does not export the
// Delegations and DelegatedRole classes.
const targets = new Metadata(Targets.fromJSON({
  spec_version: '1.0.31',
  version: 1,
  expires,
  'x-ferry-note': 'unknown field, signed: keep it — «as is»\u0001',
  'x-ferry-extra': { list: [1, 2, 3], 'ß': 'sharp s' },
  delegations: {
    keys: { [appsEd.key.keyID]: appsEd.keyJSON },
    roles: [{
      name: 'apps',
      keyids: [appsEd.key.keyID],
      threshold: 1,
      terminating: false,
      paths: ['apps/*'],
    }],
  },
}));
targets.signed.addTarget(targetFile('files/hello.txt', custom));
targets.signed.addTarget(targetFile('files/grüße-日本語.txt', {
  description: 'path with non-ASCII characters',
  tab: 'a\tb',
}));
targets.sign(targetsEc.signer);

const apps = new Metadata(new Targets({
  specVersion: '1.0.31',
  version: 1,
  expires,
  unrecognizedFields: { 'x-ferry-note': 'delegated role signed by ed25519' },
}));
apps.signed.addTarget(targetFile('apps/demo.img', {
  app: 'demo',
  'версия': '1',
  smile: 'U+1F600 as a surrogate pair: \u{1F600}',
}));
apps.sign(appsEd.signer);

// The indentation is arbitrary: verifiers must re-canonicalize.
const serialize = (md) => Buffer.from(JSON.stringify(md.toJSON(), null, 1) + '\n');
// apps.json spells everything outside ASCII as \uXXXX escapes (UTF-16,
// so U+1F600 becomes a surrogate pair); its canonical form must still come
// out as raw UTF-8.  Non-ASCII appears only inside strings, so a textual
// replace is safe.
const serializeASCII = (md) => Buffer.from(serialize(md).toString('utf8')
  .replace(/[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
const targetsBytes = serialize(targets);
const appsBytes = serializeASCII(apps);

// One meta entry with length and hashes, one without: both are valid TUF.
const snapshot = new Metadata(new Snapshot({
  specVersion: '1.0.31',
  version: 1,
  expires,
  meta: {
    'targets.json': new MetaFile({
      version: 1,
      length: targetsBytes.length,
      hashes: { sha256: sha256(targetsBytes) },
    }),
    'apps.json': new MetaFile({ version: 1 }),
  },
}));
snapshot.sign(snapshotEd.signer);
const snapshotBytes = serialize(snapshot);

const timestamp = new Metadata(new Timestamp({
  specVersion: '1.0.31',
  version: 1,
  expires,
  snapshotMeta: new MetaFile({
    version: 1,
    length: snapshotBytes.length,
    hashes: { sha256: sha256(snapshotBytes) },
  }),
}));
timestamp.sign(timestampEd.signer);

fs.mkdirSync(path.join(outDir, 'keys'), { recursive: true });
const write = (name, bytes) => fs.writeFileSync(path.join(outDir, name), bytes);
write('root.json', serialize(root));
write('targets.json', targetsBytes);
write('apps.json', appsBytes);
write('snapshot.json', snapshotBytes);
write('timestamp.json', serialize(timestamp));
for (const [p, content] of Object.entries(files)) {
  fs.mkdirSync(path.join(outDir, 'targets', path.dirname(p)), { recursive: true });
  write(path.join('targets', p), content);
}
for (const k of [rootEd, rootEc, targetsEc, snapshotEd, timestampEd, appsEd]) {
  write(path.join('keys', `${k.key.keyID}.json`), JSON.stringify(k.keyJSON) + '\n');
}
write('expect.txt', [
  'verified: root v1 (2/2 signatures)',
  'verified: targets v1 (1/1 signatures)',
  'verified: snapshot v1 (1/1 signatures)',
  'verified: timestamp v1 (1/1 signatures)',
  'verified: apps v1 (1/1 signatures)',
].join('\n') + '\n');
console.log(`make-repo: wrote ${outDir}`);
