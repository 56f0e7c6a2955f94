// Worker threads started from a test do not go through vitest's TypeScript transform,
// and dist/ may be stale. So a worker entry is transpiled, with every relative module
// it imports, into a temporary directory that mirrors the repository, and the worker
// loads the JavaScript from there: the code under test, as it is in the tree now.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const relativeImport = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g;

/** Transpiles `entry` (a .ts file) and its relative imports under `outDir`; returns the entry's URL there. */
export function transpileTree(entry: string, outDir: string): URL {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    const out = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    for (const m of source.matchAll(relativeImport)) visit(resolve(dirname(file), `${m[1]}.ts`));
  };
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  visit(resolve(entry));
  return pathToFileURL(join(outDir, relative(root, resolve(entry))).replace(/\.ts$/, '.js'));
}
