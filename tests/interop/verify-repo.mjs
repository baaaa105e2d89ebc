// verify-repo.mjs DIR: check a TUF repository written by Ferry (for
// instance by `ferry-tuftool demo DIR`) with tuf-js: first the signatures,
// role by role, with @tufjs/models; then end to end, with tuf-js's client
// (Updater) fetching it over HTTP from a server on 127.0.0.1.
// Prints one line per check; exits 1 if any check fails.
//
// The layout is discovered rather than assumed: metadata in DIR or
// DIR/metadata, file names with or without version prefixes, target
// files in DIR/targets or DIR.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Metadata } from '@tufjs/models';
import { Updater } from 'tuf-js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node verify-repo.mjs DIR');
  process.exit(2);
}

let failures = 0;
async function check(what, fn) {
  try {
    const detail = await fn();
    console.log(`ok: ${what}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (err) {
    failures++;
    console.log(`FAIL: ${what}: ${err?.message ?? err}`);
    return false;
  }
}

const metaDir = ['.', 'metadata'].map((d) => path.join(dir, d))
  .find((d) => fs.existsSync(path.join(d, 'timestamp.json')));
if (!metaDir) {
  console.log(`FAIL: no timestamp.json in ${dir} or ${dir}/metadata`);
  process.exit(1);
}
const targetsDir = fs.existsSync(path.join(dir, 'targets'))
  ? path.join(dir, 'targets') : dir;
const exists = (name) => fs.existsSync(path.join(metaDir, name));

// The file a client would fetch: "N.ROLE.json" under consistent
// snapshots, but a plain "ROLE.json" is taken when that is all there is.
function fileFor(role, version) {
  if (version !== undefined && exists(`${version}.${role}.json`)) {
    return `${version}.${role}.json`;
  }
  return `${role}.json`;
}

// Returns { file, bytes, json, md }; bytes matter for hash checks.
function load(type, file) {
  const bytes = fs.readFileSync(path.join(metaDir, file));
  const json = JSON.parse(bytes.toString('utf8'));
  return { file, bytes, json, md: Metadata.fromJSON(type, json) };
}

// The newest plain-named root is the one to check signatures against; a
// client, though, starts from the oldest and walks forward.
const versionedRoots = fs.readdirSync(metaDir)
  .map((f) => /^(\d+)\.root\.json$/.exec(f)).filter(Boolean)
  .map((m) => Number(m[1])).sort((a, b) => a - b);
const rootFile = exists('root.json') ? 'root.json'
  : `${versionedRoots.at(-1)}.root.json`;

let root, timestamp, snapshot, targets;
const delegated = []; // { name, parent, loaded }

await check(`root verifies against itself [${rootFile}]`, () => {
  root = load('root', rootFile);
  root.md.verifyDelegate('root', root.md);
  return `v${root.md.signed.version}, threshold ${root.md.signed.roles.root.threshold}`;
});

if (root) {
  await check('timestamp verifies against root [timestamp.json]', () => {
    timestamp = load('timestamp', 'timestamp.json');
    root.md.verifyDelegate('timestamp', timestamp.md);
    return `v${timestamp.md.signed.version}`;
  });
}
if (timestamp) {
  const snapMeta = timestamp.md.signed.snapshotMeta;
  const file = fileFor('snapshot', snapMeta.version);
  await check(`snapshot verifies against root [${file}]`, () => {
    snapshot = load('snapshot', file);
    root.md.verifyDelegate('snapshot', snapshot.md);
    return `v${snapshot.md.signed.version}`;
  });
  if (snapshot) {
    await check('timestamp describes this snapshot', () => {
      if (snapMeta.version !== snapshot.md.signed.version) {
        throw new Error(`version ${snapMeta.version} != ${snapshot.md.signed.version}`);
      }
      snapMeta.verify(snapshot.bytes); // length and hashes, when given
    });
  }
}

// Checks role against its parent and its snapshot entry.
async function checkTargets(role, parentName, parent) {
  const meta = snapshot?.md.signed.meta[`${role}.json`];
  const file = fileFor(role, meta?.version);
  let loaded;
  await check(`${role} verifies against ${parentName} [${file}]`, () => {
    loaded = load('targets', file);
    parent.verifyDelegate(role, loaded.md);
    return `v${loaded.md.signed.version}`;
  });
  if (loaded && snapshot) {
    await check(`snapshot describes ${role}`, () => {
      if (!meta) throw new Error(`no ${role}.json in snapshot meta`);
      if (meta.version !== loaded.md.signed.version) {
        throw new Error(`version ${meta.version} != ${loaded.md.signed.version}`);
      }
      meta.verify(loaded.bytes);
    });
  }
  return loaded;
}

if (root) targets = await checkTargets('targets', 'root', root.md);

// Walk every delegation, however deep; the demo makes one.
const queue = targets ? [{ parentName: 'targets', parent: targets }] : [];
while (queue.length > 0) {
  const { parentName, parent } = queue.shift();
  const roles = parent.md.signed.delegations?.roles ?? {};
  for (const name of Object.keys(roles)) {
    if (delegated.some((d) => d.name === name)) continue;
    const loaded = await checkTargets(name, parentName, parent.md);
    delegated.push({ name, loaded });
    if (loaded) queue.push({ parentName: name, parent: loaded });
  }
}
if (targets && delegated.length === 0) {
  await check('targets delegates to at least one role', () => {
    throw new Error('no delegations.roles in targets');
  });
}

// Negative self-check: without it, a verifyDelegate that accepted
// anything would let this whole script pass.
if (root && targets) {
  await check('targets altered by one character is rejected', () => {
    const json = structuredClone(targets.json);
    const where = alterOneCharacter(json.signed);
    const md = Metadata.fromJSON('targets', json);
    try {
      root.md.verifyDelegate('targets', md);
    } catch {
      return `changed ${where}`;
    }
    throw new Error(`still verifies after changing ${where}`);
  });
}

// Changes one character of a string in signed targets metadata: in a
// custom value if there is one, else in a target hash, else in expires.
// Returns a description of what was changed.
function alterOneCharacter(signed) {
  const swap = (s) => {
    const [first, ...rest] = s; // by code point, so no surrogate is split
    return (first === 'x' ? 'y' : 'x') + rest.join('');
  };
  const visit = (obj, where) => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'string' && v.length > 0) {
        obj[k] = swap(v);
        return `${where}.${k}`;
      }
      if (v && typeof v === 'object') {
        const found = visit(v, `${where}.${k}`);
        if (found) return found;
      }
    }
    return null;
  };
  for (const [p, t] of Object.entries(signed.targets ?? {})) {
    const found = t.custom && visit(t.custom, `targets["${p}"].custom`);
    if (found) return found;
  }
  for (const [p, t] of Object.entries(signed.targets ?? {})) {
    const found = visit(t.hashes, `targets["${p}"].hashes`);
    if (found) return found;
  }
  signed.expires = swap(signed.expires);
  return 'expires';
}

// End to end with tuf-js's client, only once the pieces are known good.
if (failures === 0) await runUpdater();

async function runUpdater() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const base = { metadata: metaDir, targets: targetsDir }[segs.shift()];
    let status = 404;
    if (base && segs.length > 0 && !segs.some((s) => s === '..' || s.includes('/'))) {
      const file = path.join(base, ...segs);
      if (fs.existsSync(file) && fs.statSync(file).isFile()) {
        status = 200;
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(fs.readFileSync(file));
      }
    }
    if (status !== 200) {
      res.writeHead(status);
      res.end();
    }
    requests.push(`${status} ${url.pathname}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${server.address().port}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-tufjs-'));
  try {
    const cacheDir = path.join(work, 'metadata');
    const downloadDir = path.join(work, 'download');
    fs.mkdirSync(cacheDir);
    fs.mkdirSync(downloadDir);
    // The trusted root a client ships with: the oldest available.
    const seed = versionedRoots.length > 0 ? `${versionedRoots[0]}.root.json` : rootFile;
    fs.copyFileSync(path.join(metaDir, seed), path.join(cacheDir, 'root.json'));
    const updater = new Updater({
      metadataDir: cacheDir,
      metadataBaseUrl: `${baseUrl}/metadata`,
      targetDir: downloadDir,
      targetBaseUrl: `${baseUrl}/targets`,
      config: { fetchRetry: 0, fetchTimeout: 10000 },
    });
    const layout = root.md.signed.consistentSnapshot
      ? 'consistent snapshots' : 'plain file names';
    const refreshed = await check(`tuf-js Updater refresh from ${seed} (${layout})`,
      () => updater.refresh());
    // Every download would repeat the refresh's error.
    if (!refreshed) return;
    const paths = [targets, ...delegated.map((d) => d.loaded)]
      .flatMap((t) => Object.keys(t.md.signed.targets));
    for (const p of paths) {
      await check(`tuf-js Updater downloads ${p}`, async () => {
        const info = await updater.getTargetInfo(p);
        if (!info) throw new Error('no target info');
        const out = path.join(downloadDir, crypto.randomUUID());
        await updater.downloadTarget(info, out);
        return `${fs.statSync(out).size} bytes, hashes match`;
      });
    }
    if (paths.length === 0) {
      await check('repository lists a target to download', () => {
        throw new Error('no targets in targets or delegated roles');
      });
    }
  } finally {
    server.close();
    fs.rmSync(work, { recursive: true, force: true });
    // What the client asked for explains a layout mismatch better than
    // the Updater's error alone.  (A 404 for N+1.root.json is expected:
    // it is how a client learns that no newer root exists.)
    if (failures > 0) console.log(`requests:\n  ${requests.join('\n  ')}`);
  }
}

console.log(failures === 0 ? 'verify-repo: all checks passed'
  : `verify-repo: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
