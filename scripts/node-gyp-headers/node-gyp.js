#!/usr/bin/env node
// The `node-gyp` every native build of an install runs: node-rdkafka's `node-gyp rebuild`,
// node-gyp-build's for our addon in native/ and, where no prebuild fits, the RocksDB
// binding. This package is a dependency (file:scripts/node-gyp-headers, copied by
// install-links in .npmrc) only so npm links this bin into node_modules/.bin before the
// dependencies' install scripts run, and puts that on their PATH before its own node-gyp;
// it then runs npm's node-gyp (npm_config_node_gyp) against the headers of the
// Node that runs it: the nodejs.org tarball, nvm and the official images ship them beside
// the binary (<prefix>/include/node for <prefix>/bin/node), Debian's libnode-dev puts them
// in /usr/include/node for /usr/bin/node. So no download is needed and offline builds work.
//
// Why not simpler: node-gyp alone looks beside the binary only for a Node configured with
// --use-prefix-to-find-headers (neither nodejs.org's nor Debian's is), else takes its
// cache (~/.cache/node-gyp/<version>) or downloads from nodejs.org; npm ignores its own
// `node-gyp` setting for dependencies' scripts (npm/cli#2839, #9826); a root preinstall
// runs after the dependencies are built; and .npmrc can only name a fixed nodedir.
// Where no headers of this exact version are installed, node-gyp's own cache or download
// stays the fallback, and a nodedir the user chose (npm_config_nodedir, ~/.npmrc) wins.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * The node-gyp npm would have run: the one it names in npm_config_node_gyp for every
 * script, else the one it ships beside itself. Never this file again.
 * @param {string} prefix
 */
function npmNodeGyp(prefix) {
  const self = realpathSync(fileURLToPath(import.meta.url));
  const candidates = [process.env.npm_config_node_gyp];
  for (const base of [process.env.npm_execpath, join(prefix, 'lib', 'node_modules', 'npm', 'package.json')]) {
    if (!base) continue;
    try {
      candidates.push(createRequire(base).resolve('node-gyp/bin/node-gyp.js'));
    } catch {
      // no node-gyp there; try the next
    }
  }
  return candidates.find((c) => c !== undefined && c !== '' && existsSync(c) && realpathSync(c) !== self);
}

/** @param {string} line */
const say = (line) => process.stderr.write(`node-gyp (scripts/node-gyp-headers): ${line}\n`);
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
  say(`cannot find npm's node-gyp (npm_config_node_gyp=${process.env.npm_config_node_gyp ?? 'unset'}, npm_execpath=${process.env.npm_execpath ?? 'unset'})`);
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
