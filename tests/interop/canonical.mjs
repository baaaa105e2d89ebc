// canonical.mjs FILE: print the canonical form @tufjs/canonical-json gives
// FILE's JSON, with no trailing newline, so the shell test can cmp it
// against `ferry-tuftool canonical FILE`.
import fs from 'node:fs';
import { canonicalize } from '@tufjs/canonical-json';

if (process.argv.length !== 3) {
  console.error('usage: node canonical.mjs FILE');
  process.exit(2);
}
// Written as a Buffer: a string would go through the stream's encoding.
process.stdout.write(Buffer.from(
  canonicalize(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')))));
