// Every test process writes a native crash's stack to stderr (src/native/crash-report.ts):
// a vitest fork that died in native code (node-rdkafka, RocksDB, the addon) otherwise
// left only "Worker exited unexpectedly", with no trace of where.
import { installCrashReport } from '../../src/native/crash-report.js';

installCrashReport();
