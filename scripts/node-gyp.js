#!/usr/bin/env node
// npm runs this in place of its own node-gyp (the `node-gyp` setting in .npmrc) for every
// native build of an install: node-rdkafka, our addon in native/ and, where no prebuild
// fits, the RocksDB binding. It builds them against the headers of the Node that runs it:
// the nodejs.org tarball, nvm and the official images ship them beside the binary
// (<prefix>/include/node for <prefix>/bin/node), Debian's libnode-dev puts them in
// /usr/include/node for /usr/bin/node; so no download is needed and an offline build works.
// node-gyp alone looks there only for a Node configured with --use-prefix-to-find-headers,
// which neither the nodejs.org nor Debian's build is, and otherwise takes its cache
// (~/.cache/node-gyp/<version>) or downloads from nodejs.org. That stays the fallback
// where no headers of this exact version are installed, and a nodedir the user chose
// (npm_config_nodedir, --nodedir, ~/.npmrc) wins over both.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The version the headers under prefix declare, or undefined where there are none.
 * @param {string} prefix
 */
function headersVersion(prefix) {
  let header;
  try {
    header = readFileSync(join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
  } catch {
    return undefined;
  }
  const parts = ['MAJOR', 'MINOR', 'PATCH'].map((part) => new RegExp(`^#define NODE_${part}_VERSION (\\d+)`, 'm').exec(header)?.[1]);
  return parts.includes(undefined) ? undefined : parts.join('.');
}

/**
 * The node-gyp npm would have run: the one it ships, found from npm itself.
 * @param {string} prefix
 */
function npmNodeGyp(prefix) {
  const from = [process.env.npm_execpath, join(prefix, 'lib', 'node_modules', 'npm', 'package.json')];
  for (const base of from) {
    if (!base) continue;
    try {
      return createRequire(base).resolve('node-gyp/bin/node-gyp.js');
    } catch {
      // not there; try the next
    }
  }
  return undefined;
}

/** @param {string} line */
const say = (line) => process.stderr.write(`node-gyp (scripts/node-gyp.js): ${line}\n`);
const prefix = dirname(dirname(process.execPath));
const env = { ...process.env };

if (env.npm_config_nodedir) {
  say(`nodedir ${env.npm_config_nodedir} as configured`);
} else if (headersVersion(prefix) === process.versions.node) {
  env.npm_config_nodedir = prefix;
  say(`headers of the running Node v${process.versions.node} in ${join(prefix, 'include', 'node')}`);
} else {
  say(`no headers of Node v${process.versions.node} in ${join(prefix, 'include', 'node')}; node-gyp takes its cache or downloads them`);
}

const nodeGyp = npmNodeGyp(prefix);
if (!nodeGyp) {
  say(`cannot find npm's node-gyp (npm_execpath=${process.env.npm_execpath ?? 'unset'}); set npm_config_node_gyp to a node-gyp bin`);
  process.exit(1);
}
const child = spawn(process.execPath, [nodeGyp, ...process.argv.slice(2)], { stdio: 'inherit', env });
child.on('error', (err) => {
  say(err.message);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
