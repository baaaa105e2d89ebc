// verify-sign.mjs: check a repository written by `ferry-sign publish` with
// tuf-js.  Used by tests/e2e/interop_sign_tufjs.sh.
//
//   node verify-sign.mjs check METADIR
//     With @tufjs/models alone: every N.root.json against root N-1 and
//     itself, timestamp and snapshot against the newest root, targets
//     against root, and every delegated role (path delegations and TAP 15
//     succinct bins, however deep) against the role that delegates it;
//     the snapshot and timestamp entries (version, length, hashes) against
//     the files; every target inside the paths delegated to its role.
//     Prints "target PATH ROLE" for every target and "role NAME vN" for
//     every role, for the caller to compare with what it made.
//
//   node verify-sign.mjs fetch --repo DIR --cache DIR [--seed ROOTFILE]
//                        --root-version N [PATH=FILE]...
//     With tuf-js's client (Updater), over HTTP from a server on
//     127.0.0.1 that serves DIR/metadata and DIR/targets: refresh from the
//     trusted metadata in the cache (seeded with ROOTFILE as root.json when
//     given), require the trusted root to be version N afterwards, and
//     download each target PATH, whose bytes must equal FILE's.
//
// Prints one line per check ("ok: ..." or "FAIL: ..."); exits 0 when all
// pass, 1 when one fails, 2 on a usage error.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Metadata } from '@tufjs/models';
import { Updater } from 'tuf-js';

let failures = 0;
async function check(what, fn) {
  try {
    const detail = await fn();
    console.log(`ok: ${what}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (err) {
    failures++;
    const cause = err?.cause ? ` (cause: ${err.cause?.message ?? err.cause})` : '';
    console.log(`FAIL: ${what}: ${err?.message ?? err}${cause}`);
    return false;
  }
}

function usage() {
  console.error('usage: node verify-sign.mjs check METADIR\n'
    + '       node verify-sign.mjs fetch (--repo DIR | --url http://127.0.0.1:PORT)\n'
    + '           --cache DIR [--seed ROOTFILE]'
    + ' --root-version N [PATH=FILE]...');
  process.exit(2);
}

function finish(name) {
  console.log(failures === 0 ? `${name}: all checks passed`
    : `${name}: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'check' && args.length === 1) {
  await checkMetadata(args[0]);
  finish('verify-sign check');
} else if (mode === 'fetch') {
  await fetchWithUpdater(args);
  finish('verify-sign fetch');
} else {
  usage();
}

// ---------------------------------------------------------------------------
// check: signatures and descriptions, role by role.

async function checkMetadata(metaDir) {
  const load = (type, file) => {
    const bytes = fs.readFileSync(path.join(metaDir, file));
    const json = JSON.parse(bytes.toString('utf8'));
    return { file, bytes, json, md: Metadata.fromJSON(type, json) };
  };

  // The chain of roots, 1 to the newest, with no gap.
  const rootVersions = fs.readdirSync(metaDir)
    .map((f) => /^([1-9][0-9]*)\.root\.json$/.exec(f)).filter(Boolean)
    .map((m) => Number(m[1])).sort((a, b) => a - b);
  const chainOk = await check('roots 1..N are all present', () => {
    if (rootVersions.length === 0) throw new Error('no N.root.json');
    rootVersions.forEach((v, i) => {
      if (v !== i + 1) throw new Error(`versions ${rootVersions.join(', ')}`);
    });
    return `1..${rootVersions.length}`;
  });
  if (!chainOk) return;

  let root;
  for (const v of rootVersions) {
    const prev = root;
    const ok = await check(`${v}.root.json verifies against `
      + `${prev ? `root v${prev.md.signed.version} and ` : ''}itself`, () => {
      const cur = load('root', `${v}.root.json`);
      if (cur.md.signed.version !== v) {
        throw new Error(`file says version ${cur.md.signed.version}`);
      }
      if (prev) prev.md.verifyDelegate('root', cur.md);
      cur.md.verifyDelegate('root', cur.md);
      if (!cur.md.signed.consistentSnapshot) throw new Error('consistent_snapshot is false');
      root = cur;
      const r = cur.md.signed.roles.root;
      return `${cur.json.signatures.length} signatures; root threshold ${r.threshold} `
        + `of ${r.keyIDs.length} keys`;
    });
    if (!ok) return;
    console.log(`role root v${v}`);
  }
  await check('root.json is the newest root', () => {
    const plain = fs.readFileSync(path.join(metaDir, 'root.json'));
    if (!plain.equals(root.bytes)) throw new Error(`differs from ${root.file}`);
  });

  // Negative self-checks: without them a verifyDelegate that accepted
  // anything would let this script pass.
  await check('newest root minus one signature falls short of its own threshold', () => {
    const json = structuredClone(root.json);
    const need = root.md.signed.roles.root.threshold;
    json.signatures = json.signatures.slice(0, need - 1);
    const md = Metadata.fromJSON('root', json);
    try {
      md.verifyDelegate('root', md);
    } catch {
      return `${need - 1} of ${need} rejected`;
    }
    throw new Error(`${need - 1} signatures were enough for threshold ${need}`);
  });

  let timestamp, snapshot;
  await check('timestamp.json verifies against root', () => {
    timestamp = load('timestamp', 'timestamp.json');
    root.md.verifyDelegate('timestamp', timestamp.md);
    return `v${timestamp.md.signed.version}`;
  });
  if (!timestamp) return;
  console.log(`role timestamp v${timestamp.md.signed.version}`);
  const snapMeta = timestamp.md.signed.snapshotMeta;
  await check(`${snapMeta.version}.snapshot.json verifies against root`
    + ' and matches timestamp', () => {
    snapshot = load('snapshot', `${snapMeta.version}.snapshot.json`);
    root.md.verifyDelegate('snapshot', snapshot.md);
    if (snapshot.md.signed.version !== snapMeta.version) {
      throw new Error(`version ${snapshot.md.signed.version}`);
    }
    snapMeta.verify(snapshot.bytes);
    return `v${snapshot.md.signed.version}`;
  });
  if (!snapshot) return;
  console.log(`role snapshot v${snapshot.md.signed.version}`);

  // Each targets role with the snapshot's description of it, and the
  // constraint its delegators put on its target paths.
  const seen = new Set();
  const loadTargets = async (name, parentName, parent) => {
    const meta = snapshot.md.signed.meta[`${name}.json`];
    let loaded;
    await check(`${name} verifies against ${parentName} and matches snapshot`, () => {
      if (!meta) throw new Error(`no ${name}.json in snapshot`);
      const file = `${meta.version}.${encodeURIComponent(name)}.json`;
      loaded = load('targets', file);
      parent.md.verifyDelegate(name, loaded.md);
      if (loaded.md.signed.version !== meta.version) {
        throw new Error(`${file} says version ${loaded.md.signed.version}`);
      }
      meta.verify(loaded.bytes);
      return `${file}, ${Object.keys(loaded.md.signed.targets).length} targets`;
    });
    seen.add(`${name}.json`);
    if (loaded) console.log(`role ${name} v${loaded.md.signed.version}`);
    return loaded;
  };

  const targets = await loadTargets('targets', 'root', root);
  if (!targets) return;
  const stack = [{ name: 'targets', loaded: targets, allows: [] }];
  while (stack.length > 0) {
    const { name, loaded, allows } = stack.pop();
    for (const p of Object.keys(loaded.md.signed.targets)) {
      await check(`target ${p} is inside what is delegated to ${name}`, () => {
        const refused = allows.find((a) => !a.ok(p));
        if (refused) throw new Error(`not allowed by ${refused.what}`);
      });
      console.log(`target ${p} ${name}`);
    }
    const del = loaded.md.signed.delegations;
    if (!del) continue;
    const children = [];
    if (del.roles) {
      for (const role of Object.values(del.roles)) {
        children.push({
          name: role.name,
          ok: (p) => role.isDelegatedPath(p),
          what: `${name}'s delegation to ${role.name}`,
        });
      }
    } else if (del.succinctRoles) {
      const sr = del.succinctRoles;
      for (const bin of sr.getRoles()) {
        children.push({
          name: bin,
          ok: (p) => sr.getRoleForTarget(p) === bin,
          what: `${name}'s succinct bins (${bin} is not this path's bin)`,
        });
      }
    }
    for (const c of children) {
      if (seen.has(`${c.name}.json`)) continue;
      const child = await loadTargets(c.name, name, loaded);
      if (child) stack.push({ name: c.name, loaded: child, allows: [...allows, c] });
    }
  }
  await check('snapshot lists no role that is not delegated', () => {
    const extra = Object.keys(snapshot.md.signed.meta).filter((f) => !seen.has(f));
    if (extra.length > 0) throw new Error(extra.join(', '));
    return `${seen.size} roles`;
  });

  await check('targets altered by one character is rejected', () => {
    const json = structuredClone(targets.json);
    const [first, ...rest] = json.signed.expires;
    json.signed.expires = (first === '1' ? '2' : '1') + rest.join('');
    const md = Metadata.fromJSON('targets', json);
    try {
      root.md.verifyDelegate('targets', md);
    } catch {
      return 'expires changed';
    }
    throw new Error('still verifies');
  });
}

// ---------------------------------------------------------------------------
// fetch: tuf-js's client against a server on 127.0.0.1.

async function fetchWithUpdater(argv) {
  const opt = { wanted: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (['--repo', '--url', '--cache', '--seed', '--root-version'].includes(a)) {
      if (i + 1 >= argv.length) usage();
      opt[a.slice(2)] = argv[++i];
    } else if (/^[^-].*=./.test(a)) {
      const eq = a.lastIndexOf('=');
      opt.wanted.push({ target: a.slice(0, eq), file: a.slice(eq + 1) });
    } else {
      usage();
    }
  }
  if ((!opt.repo && !opt.url) || !opt.cache
      || !/^[1-9][0-9]*$/.test(opt['root-version'] ?? '')) usage();
  const wantRoot = Number(opt['root-version']);

  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const top = segs.shift();
    let status = 404;
    if ((top === 'metadata' || top === 'targets') && segs.length > 0
        && !segs.some((s) => s.startsWith('.') || s.includes('/'))) {
      const file = path.join(opt.repo, top, ...segs);
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
  // --url: a server already running (ferry-repod), only on loopback.
  if (opt.url) {
    if (!/^http:\/\/(127\.0\.0\.1|\[::1\]):[0-9]+$/.test(opt.url)) usage();
  } else {
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  const baseUrl = opt.url ?? `http://127.0.0.1:${server.address().port}`;
  try {
    const downloadDir = path.join(opt.cache, 'download');
    fs.mkdirSync(opt.cache, { recursive: true });
    fs.mkdirSync(downloadDir, { recursive: true });
    if (opt.seed) fs.copyFileSync(opt.seed, path.join(opt.cache, 'root.json'));
    const trusted = (role) => {
      const f = path.join(opt.cache, `${role}.json`);
      return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')).signed.version : null;
    };
    const before = ['root', 'timestamp', 'snapshot', 'targets']
      .map((r) => `${r} ${trusted(r) ?? '-'}`).join(', ');
    const updater = new Updater({
      metadataDir: opt.cache,
      metadataBaseUrl: `${baseUrl}/metadata`,
      targetDir: downloadDir,
      targetBaseUrl: `${baseUrl}/targets`,
      config: { fetchRetry: 0, fetchTimeout: 10000 },
    });
    const refreshed = await check(`tuf-js refresh (trusted before: ${before})`, async () => {
      await updater.refresh();
      return ['root', 'timestamp', 'snapshot', 'targets']
        .map((r) => `${r} v${trusted(r)}`).join(', ');
    });
    if (!refreshed) return;
    await check(`trusted root is version ${wantRoot}`, () => {
      const v = trusted('root');
      if (v !== wantRoot) throw new Error(`it is version ${v}`);
    });
    let n = 0;
    for (const { target, file } of opt.wanted) {
      await check(`tuf-js downloads ${target}, same bytes as ${path.basename(file)}`, async () => {
        const info = await updater.getTargetInfo(target);
        if (!info) throw new Error('no target info');
        const out = path.join(downloadDir, `${++n}`);
        await updater.downloadTarget(info, out);
        const got = fs.readFileSync(out);
        if (!got.equals(fs.readFileSync(file))) throw new Error('contents differ');
        return `${got.length} bytes`;
      });
    }
  } finally {
    if (!opt.url) server.close();
    // What the client asked for explains a layout mismatch better than
    // the Updater's error alone.
    if (failures > 0) console.log(`requests:\n  ${requests.join('\n  ')}`);
  }
}
