// The native stack of a thread that crashes, written to stderr (crash-report.cc).
#pragma once

namespace order_engine {

// Installs the handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, once per
// process. False where the platform has no backtrace (or a sigaction failed).
bool InstallCrashReport();

}  // namespace order_engine
