// A native crash's last words. Once installed, a SIGSEGV, SIGBUS, SIGILL, SIGFPE or
// SIGABRT writes the crashing thread's name (http, stream-N, rdk:*, rocksdb:*), the
// signal, its address and the thread's native stack to stderr, and the process then
// dies of the signal as it would have (native/crash-report.cc). Without it a crash in
// librdkafka, RocksDB or the addon left only "exited (SIGSEGV)". Node's WebAssembly
// trap handling goes first and is kept.
import { binding } from './binding.js';

/** Installs the report for this process (once; later calls do nothing). False where the platform has none. */
export function installCrashReport(): boolean {
  return binding.installCrashReport();
}
