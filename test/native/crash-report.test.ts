import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The crash report runs in a child process that dies of the signal: the built module
// (npm test builds first), as the service loads it.
const built = new URL('../../dist/src/native/crash-report.js', import.meta.url).href;
const supported = process.platform === 'linux' || process.platform === 'darwin';

function child(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const code = `const { installCrashReport } = await import(${JSON.stringify(built)});\nif (!installCrashReport()) throw new Error('not installed');\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// A module with one function, load(addr) = i32.load(addr), over one 64 KiB page.
const WASM_LOAD = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 8, 1, 4, 108, 111, 97, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11];

describe.runIf(supported)('installCrashReport', () => {
  it('writes the crashing thread and its native stack to stderr, and the process still dies of the signal', () => {
    const r = child(`process.kill(process.pid, 'SIGSEGV'); await new Promise((resolve) => setTimeout(resolve, 5000)); console.log('survived');`);
    expect(r.signal).toBe('SIGSEGV');
    expect(r.stdout).not.toContain('survived');
    expect(r.stderr).toMatch(/=== fatal signal 11 \(Segmentation fault\) sent by pid \d+ in thread '[^']+' \(tid \d+\), pid \d+: native stack of the crashing thread ===/);
    // The frames, down to the kill() that raised it, then the end marker.
    const stack = r.stderr.slice(r.stderr.indexOf('native stack of the crashing thread ==='), r.stderr.indexOf('=== end of the native stack ==='));
    expect(stack.split('\n').length).toBeGreaterThan(3);
    expect(stack).toMatch(/kill/);
    expect(r.stderr).toContain('=== end of the native stack ===');
  });

  it('reports an abort too', () => {
    const r = child(`process.abort();`);
    expect(r.signal).toBe('SIGABRT');
    expect(r.stderr).toMatch(/=== fatal signal 6 \(Aborted\)/);
  });

  // Node catches SIGSEGV to turn a WebAssembly out-of-bounds access into a trap
  // (RuntimeError): that must keep working, with no report.
  it("leaves Node's WebAssembly traps to Node", () => {
    const r = child(`
      const { instance } = await WebAssembly.instantiate(new Uint8Array(${JSON.stringify(WASM_LOAD)}));
      try { instance.exports.load(70000); console.log('no trap'); } catch (e) { console.log('trap: ' + e.constructor.name); }`);
    expect(r.stdout.trim()).toBe('trap: RuntimeError');
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('fatal signal');
  });
});
