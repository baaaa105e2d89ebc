// tufjs-client.mjs DIR METAURL TARGETURL TARGETPATH [download|refresh]
//
// The tuf-js side of bench/client.sh: what ferry-conformance-client does,
// with tuf-js's Updater.  DIR holds metadata/ (root.json at least: the
// trusted root) and targets/ (where the target is written, under its
// path percent-encoded, as Ferry's client names it).
//
//   download (default): refresh, getTargetInfo(TARGETPATH), and unless
//     DIR/targets already holds the target with matching length and
//     hashes (findCachedTarget), downloadTarget;
//   refresh: refresh only.
//
// A second run on the same DIR is the warm case: tuf-js loads its local
// metadata and fetches only what changed (here: nothing but timestamp).
// On success prints one line with the times measured inside node:
//   tufjs start_ms S import_ms I run_ms R
// S is node's time from process start to this script, I loading tuf-js,
// R the workflow itself.  Exits 1 with the reason on stderr on failure.
//
// tuf-js comes from tests/interop/node_modules (npm ci there), or from
// the directory named by FERRY_TUFJS_DIR.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// performance.now() counts from the start of the process.
const tStart = performance.now();

const [dir, metadataBaseUrl, targetBaseUrl, targetPath, mode = 'download'] =
  process.argv.slice(2);
if (!targetPath || !['download', 'refresh'].includes(mode)) {
  console.error('usage: node tufjs-client.mjs DIR METAURL TARGETURL '
    + 'TARGETPATH [download|refresh]');
  process.exit(2);
}

const interopDir = process.env.FERRY_TUFJS_DIR
  || fileURLToPath(new URL('../tests/interop/', import.meta.url));
const require = createRequire(path.join(interopDir, 'package.json'));
let Updater;
try {
  ({ Updater } = require('tuf-js'));
} catch (err) {
  console.error(`tufjs-client: cannot load tuf-js from ${interopDir}: `
    + `${err.message} (run npm ci there)`);
  process.exit(1);
}
const tImported = performance.now();

try {
  const targetDir = path.join(dir, 'targets');
  const updater = new Updater({
    metadataDir: path.join(dir, 'metadata'),
    metadataBaseUrl,
    targetDir,
    targetBaseUrl,
    // No retries: on loopback a failure is an error, not bad luck.
    config: { fetchRetry: 0, fetchTimeout: 60000 },
  });
  await updater.refresh();
  if (mode === 'download') {
    const info = await updater.getTargetInfo(targetPath);
    if (!info) throw new Error(`${targetPath}: no trusted role lists it`);
    const out = path.join(targetDir, encodeURIComponent(targetPath));
    if (!(await updater.findCachedTarget(info, out))) {
      await updater.downloadTarget(info, out);
    }
    if (fs.statSync(out).size !== info.length) {
      throw new Error(`${out}: not ${info.length} bytes`);
    }
  }
} catch (err) {
  console.error(`tufjs-client: ${mode}: ${err?.message ?? err}`);
  process.exit(1);
}
const tDone = performance.now();
console.log(`tufjs start_ms ${tStart.toFixed(3)} import_ms `
  + `${(tImported - tStart).toFixed(3)} run_ms ${(tDone - tImported).toFixed(3)}`);
