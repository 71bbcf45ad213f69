// `prepack` / `postpack`: the packed package.json leaves out the `prepare` script. A clone needs it (npm
// runs it after `npm install` in the clone, and when a project installs the clone as a folder dependency,
// so dist/ gets built), but in a package from the registry, where dist/ is already built, npm 11 would list
// it as an install script needing approval ("install-scripts … backdev (prepare …)") although it never
// runs there. `strip` keeps the original in .tmp/ and writes package.json without it; `restore` puts the
// original back (npm runs it after packing, also when packing failed after `prepack`).
// Plain JavaScript: it runs before anything is compiled.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = path.join(repo, 'package.json');
const saved = path.join(repo, '.tmp', 'package.json.before-pack');
const action = process.argv[2];

if (action === 'strip') {
  mkdirSync(path.dirname(saved), { recursive: true });
  // A saved copy left by a pack that was killed before `restore` is the real manifest: keep it.
  if (!existsSync(saved)) copyFileSync(manifest, saved);
  const text = readFileSync(saved, 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts?.prepare;
  const indent = /^[ \t]+/m.exec(text)?.[0] ?? '  ';
  writeFileSync(manifest, `${JSON.stringify(pkg, null, indent)}\n`);
} else if (action === 'restore') {
  if (existsSync(saved)) renameSync(saved, manifest);
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exitCode = 2;
}
