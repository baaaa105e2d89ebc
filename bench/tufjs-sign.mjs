// tufjs-sign.mjs targets|bins LISTFILE OUTDIR [--bins N] [--classic]
//     [--linear]
//
// The tuf-js side of bench/sign.sh: what an offline signer does, with
// @tufjs/models and node:crypto.  LISTFILE holds the targets, one JSON
// object a line, {"path": ..., "length": ..., "hashes": {...}} (the list
// `ferry-sign targets add --list` reads).  OUTDIR must not exist; the
// signed metadata is written there as a bundle would hold it:
// metadata/1.root.json, metadata/targets.json and, for bins,
// metadata/PREFIX-XXXX.json.
//
//   targets: root v1 and a top-level targets v1 listing every target.
//   bins:    root v1, a top-level targets v1 with no targets of its own
//            and a TAP 15 succinct_roles delegation to N bins (default
//            16384; name prefix "bins"), and every bin, each listing the
//            targets SuccinctRoles.getRoleForTarget puts in it.  With
//            --classic, one DelegatedRole per bin with its
//            path_hash_prefixes instead (same placement: the first
//            log2(N) bits of the path's SHA-256).
//
// Every role is signed the way the models sign: Metadata.sign() takes
// the canonical JSON of signed.toJSON() (@tufjs/canonical-json) and
// passes it to the signer, here Ed25519 from node:crypto with a key
// derived from a fixed seed (one key for root and targets and the bins,
// one for snapshot and timestamp, as sign.sh gives ferry-sign).  Each
// file is written as JSON.stringify(metadata.toJSON()).
//
// --linear builds the signed part's JSON in one pass instead of through
// Targets.toJSON(), which in @tufjs/models 4.1.1 copies the whole targets
// object once per target (Object.entries(...).reduce with a spread):
// quadratic, minutes for tens of thousands of targets.  The same objects
// (TargetFile.toJSON(), Delegations.toJSON()), the same canonical form
// and signer: what a program using the models would have to do to sign
// 100,000 targets in reasonable time.
//
// Each phase prints one line as soon as it ends, so that a run stopped
// by a time limit still says how far it got:
//   tufjs start_ms S import_ms I      node's start, loading the models
//   tufjs read_ms R                   reading and parsing LISTFILE
//   tufjs build_ms B                  the models' objects (and placing
//                                     targets in their bins)
//   tufjs sign_ms G ed25519_ms E      Metadata.sign of every role: G in
//                                     all, E inside the signer callback
//   tufjs write_ms W bytes N          serialising and writing every file
//   tufjs total_ms T roles R targets N rss_mib M
// Exits 1 with the reason on stderr on failure, 2 on a usage error.
//
// @tufjs/models comes from tests/interop/node_modules (npm ci there), or
// from the directory named by FERRY_TUFJS_DIR.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const tStart = performance.now();

function usage() {
  console.error('usage: node tufjs-sign.mjs targets|bins LISTFILE OUTDIR '
    + '[--bins N] [--classic] [--linear]');
  process.exit(2);
}

const argv = process.argv.slice(2);
const [mode, listFile, outDir] = argv;
if (!['targets', 'bins'].includes(mode) || !listFile || !outDir) usage();
let nbins = 16384;
let classic = false;
let linear = false;
for (let i = 3; i < argv.length; i++) {
  if (argv[i] === '--bins' && i + 1 < argv.length) {
    nbins = Number(argv[++i]);
  } else if (argv[i] === '--classic') {
    classic = true;
  } else if (argv[i] === '--linear') {
    linear = true;
  } else {
    usage();
  }
}
const bitLength = Math.log2(nbins);
if (!Number.isInteger(bitLength) || bitLength < 1 || bitLength > 16) {
  console.error('tufjs-sign: --bins must be a power of two from 2 to 65536');
  process.exit(2);
}

const interopDir = process.env.FERRY_TUFJS_DIR
  || fileURLToPath(new URL('../tests/interop/', import.meta.url));
const require = createRequire(path.join(interopDir, 'package.json'));
let models;
let canonicalize;
try {
  models = require('@tufjs/models');
  ({ canonicalize } = require('@tufjs/canonical-json'));
} catch (err) {
  console.error(`tufjs-sign: cannot load @tufjs/models from ${interopDir}: `
    + `${err.message} (run npm ci there)`);
  process.exit(1);
}
const {
  Key, Metadata, Root, Signature, Targets, TargetFile,
} = models;
// Not exported from the package's index, but part of its dist.
const { Delegations } = require('@tufjs/models/dist/delegations');
const { DelegatedRole, Role, SuccinctRoles } = require('@tufjs/models/dist/role');
const tImported = performance.now();
console.log(`tufjs start_ms ${tStart.toFixed(3)} import_ms `
  + `${(tImported - tStart).toFixed(3)}`);

const ms = (t0) => (performance.now() - t0).toFixed(3);

// An Ed25519 key from a fixed 32-byte seed (PKCS #8 DER of RFC 8410), as
// a node KeyObject and as the models' Key with its TUF key id.
function makeKey(label) {
  const seed = crypto.createHash('sha256')
    .update(`ferry bench sign key ${label}`).digest();
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const priv = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const spki = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const keyVal = { public: spki.subarray(spki.length - 32).toString('hex') };
  const keyID = crypto.createHash('sha256')
    .update(canonicalize({ keytype: 'ed25519', scheme: 'ed25519', keyval: keyVal }))
    .digest('hex');
  return {
    priv,
    key: new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal }),
  };
}

let ed25519Ms = 0;
function signerFor(k) {
  return (bytes) => {
    const t0 = performance.now();
    const sig = crypto.sign(null, bytes, k.priv).toString('hex');
    ed25519Ms += performance.now() - t0;
    return new Signature({ keyID: k.key.keyID, sig });
  };
}

// The signed part's JSON in one pass over the targets (--linear): what
// Targets.toJSON() gives, without its quadratic copying.
function targetsJSON(t) {
  const targets = {};
  for (const p in t.targets) targets[p] = t.targets[p].toJSON();
  const json = {
    _type: t.type,
    spec_version: t.specVersion,
    version: t.version,
    expires: t.expires,
    targets,
    ...t.unrecognizedFields,
  };
  if (t.delegations) json.delegations = t.delegations.toJSON();
  return json;
}

function signedJSON(md) {
  return linear && md.signed instanceof Targets
    ? targetsJSON(md.signed) : md.signed.toJSON();
}

function sign(md, signer) {
  if (!linear) {
    md.sign(signer);
    return;
  }
  const sig = signer(Buffer.from(canonicalize(signedJSON(md))));
  md.signatures[sig.keyID] = sig;
}

function serialize(md) {
  if (!linear) return JSON.stringify(md.toJSON());
  return JSON.stringify({
    signatures: Object.values(md.signatures).map((s) => s.toJSON()),
    signed: signedJSON(md),
    ...md.unrecognizedFields,
  });
}

try {
  fs.mkdirSync(outDir);
  const metaDir = path.join(outDir, 'metadata');
  fs.mkdirSync(metaDir);

  let t0 = performance.now();
  const entries = [];
  for (const line of fs.readFileSync(listFile, 'utf8').split('\n')) {
    if (line !== '') entries.push(JSON.parse(line));
  }
  console.log(`tufjs read_ms ${ms(t0)}`);

  t0 = performance.now();
  const expires = new Date(Date.now() + 90 * 86400e3).toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const release = makeKey('release');
  const online = makeKey('online');
  const root = new Root({
    version: 1,
    specVersion: '1.0.31',
    expires: new Date(Date.now() + 365 * 86400e3).toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    consistentSnapshot: true,
  });
  root.addKey(release.key, 'root');
  root.addKey(release.key, 'targets');
  root.addKey(online.key, 'snapshot');
  root.addKey(online.key, 'timestamp');
  const files = [['1.root.json', new Metadata(root)]];
  let ntargets = 0;
  const newTarget = (e) => new TargetFile({
    path: e.path, length: e.length, hashes: e.hashes,
  });
  if (mode === 'targets') {
    const top = new Targets({ version: 1, specVersion: '1.0.31', expires });
    for (const e of entries) {
      top.addTarget(newTarget(e));
      ntargets++;
    }
    files.push(['targets.json', new Metadata(top)]);
  } else {
    const keys = { [release.key.keyID]: release.key };
    const keyIDs = [release.key.keyID];
    const succinct = new SuccinctRoles({
      keyIDs, threshold: 1, bitLength, namePrefix: 'bins',
    });
    const binNames = [...succinct.getRoles()];
    let delegations;
    if (classic) {
      // Each bin covers 16^d / N prefixes of d hex digits, d the fewest
      // digits that hold log2(N) bits.
      const digits = Math.ceil(bitLength / 4);
      const per = 16 ** digits / nbins;
      const roles = {};
      binNames.forEach((name, i) => {
        const prefixes = [];
        for (let j = 0; j < per; j++) {
          prefixes.push((i * per + j).toString(16).padStart(digits, '0'));
        }
        roles[name] = new DelegatedRole({
          name, keyIDs, threshold: 1, terminating: false,
          pathHashPrefixes: prefixes,
        });
      });
      delegations = new Delegations({ keys, roles });
    } else {
      delegations = new Delegations({ keys, succinctRoles: succinct });
    }
    const top = new Targets({
      version: 1, specVersion: '1.0.31', expires, delegations,
    });
    files.push(['targets.json', new Metadata(top)]);
    const bins = new Map();
    for (const name of binNames) {
      const md = new Metadata(new Targets({
        version: 1, specVersion: '1.0.31', expires,
      }));
      bins.set(name, md);
      files.push([`${name}.json`, md]);
    }
    // The same bits pick the bin either way; the classic roles' prefixes
    // are checked below on the first target.
    for (const e of entries) {
      bins.get(succinct.getRoleForTarget(e.path)).signed
        .addTarget(newTarget(e));
      ntargets++;
    }
    if (classic && entries.length > 0) {
      const name = succinct.getRoleForTarget(entries[0].path);
      if (!delegations.roles[name].isDelegatedPath(entries[0].path)) {
        throw new Error(`${entries[0].path}: not in ${name}'s prefixes`);
      }
    }
  }
  console.log(`tufjs build_ms ${ms(t0)}`);

  t0 = performance.now();
  const signer = signerFor(release);
  for (const [, md] of files) sign(md, signer);
  console.log(`tufjs sign_ms ${ms(t0)} ed25519_ms ${ed25519Ms.toFixed(3)}`);

  t0 = performance.now();
  let bytes = 0;
  for (const [name, md] of files) {
    const data = serialize(md);
    fs.writeFileSync(path.join(metaDir, name), data);
    bytes += Buffer.byteLength(data);
  }
  console.log(`tufjs write_ms ${ms(t0)} bytes ${bytes}`);

  if (ntargets !== entries.length) {
    throw new Error(`${ntargets} targets placed of ${entries.length}`);
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`tufjs total_ms ${ms(tImported)} roles ${files.length} `
    + `targets ${ntargets} rss_mib ${rss.toFixed(1)}`);
} catch (err) {
  console.error(`tufjs-sign: ${mode}: ${err?.stack ?? err}`);
  process.exit(1);
}
