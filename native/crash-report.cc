// A native crash's last words: on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, the
// crashing thread's name, the signal and its address, and the thread's native stack go
// to stderr before the process dies of the signal as it would have. A crash inside
// librdkafka, RocksDB or this addon otherwise leaves only "exited (SIGSEGV)" behind:
// containers rarely keep core files, and CI never does. The JVM writes hs_err_pid for
// the same reason.
//
// Node's own handler goes first: on x64 Linux it catches SIGSEGV and SIGBUS to turn a
// WebAssembly bounds fault into a trap. It returns with its handler still installed
// when the fault was such a trap (then nothing is reported), and otherwise resets the
// signal to its default and raises it, which stays pending while this handler runs.
//
// Only async-signal-safe calls run in the handler (hence the signals' names spelled out
// here rather than strsignal's), except backtrace(), which is called
// once at install so that its lazy loading of libgcc happens outside a signal.
#include "crash-report.h"

#if defined(__linux__) || defined(__APPLE__)
#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#endif

namespace order_engine {

#if defined(__linux__) || defined(__APPLE__)
namespace {

// The signals reported, with their names (strsignal is not async-signal-safe).
struct Reported {
  int sig;
  const char* name;
};
constexpr Reported kSignals[] = {{SIGSEGV, "Segmentation fault"}, {SIGBUS, "Bus error"}, {SIGILL, "Illegal instruction"},
                                 {SIGFPE, "Floating point exception"}, {SIGABRT, "Aborted"}};
constexpr size_t kCount = sizeof(kSignals) / sizeof(kSignals[0]);
struct sigaction previous[kCount];
bool installed = false;

void Write(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

// Unsigned value in `base` (10 or 16) into buf, NUL-terminated; returns buf.
char* Format(unsigned long long value, int base, char* buf, size_t size) {
  char digits[32];
  int n = 0;
  do {
    const int d = static_cast<int>(value % base);
    digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    value /= base;
  } while (value > 0 && n < static_cast<int>(sizeof(digits)));
  size_t at = 0;
  while (n > 0 && at + 1 < size) buf[at++] = digits[--n];
  buf[at] = '\0';
  return buf;
}

int IndexOf(int sig) {
  for (size_t i = 0; i < kCount; i++) {
    if (kSignals[i].sig == sig) return static_cast<int>(i);
  }
  return -1;
}

void OnFatalSignal(int sig, siginfo_t* info, void* context) {
  const int at = IndexOf(sig);
  if (at >= 0) {
    const struct sigaction& prev = previous[at];
    if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
      prev.sa_sigaction(sig, info, context);
      struct sigaction now;
      // Still ours: the previous handler took the fault as its own (a WebAssembly trap).
      if (sigaction(sig, nullptr, &now) == 0 && (now.sa_flags & SA_SIGINFO) != 0 && now.sa_sigaction == &OnFatalSignal) return;
    } else if ((prev.sa_flags & SA_SIGINFO) == 0 && prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
      prev.sa_handler(sig);
    }
  }
  char buf[32];
  Write("\n=== fatal signal ");
  Write(Format(static_cast<unsigned long long>(sig), 10, buf, sizeof(buf)));
  Write(" (");
  Write(at >= 0 ? kSignals[at].name : "?");
  if (info != nullptr && info->si_code <= 0) {  // sent (kill, raise, abort), not a fault
    Write(") sent by pid ");
    Write(Format(static_cast<unsigned long long>(info->si_pid), 10, buf, sizeof(buf)));
  } else {
    Write(") at address 0x");
    Write(Format(reinterpret_cast<unsigned long long>(info != nullptr ? info->si_addr : nullptr), 16, buf, sizeof(buf)));
  }
#if defined(__linux__)
  char name[17] = {0};
  prctl(PR_GET_NAME, name, 0, 0, 0);
  Write(" in thread '");
  Write(name);
  Write("' (tid ");
  Write(Format(static_cast<unsigned long long>(syscall(SYS_gettid)), 10, buf, sizeof(buf)));
  Write(")");
#endif
  Write(", pid ");
  Write(Format(static_cast<unsigned long long>(getpid()), 10, buf, sizeof(buf)));
  Write(": native stack of the crashing thread ===\n");
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  Write("=== end of the native stack ===\n");
  // Die of the signal as the process would have: the default action, raised again (it
  // is delivered once this handler returns, as is one Node's handler raised already).
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
}

}  // namespace

bool InstallCrashReport() {
  if (installed) return true;
  void* warm[2];
  backtrace(warm, 2);
  for (size_t i = 0; i < kCount; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = &OnFatalSignal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(kSignals[i].sig, &sa, &previous[i]) != 0) return false;
  }
  installed = true;
  return true;
}

#else

bool InstallCrashReport() { return false; }

#endif

}  // namespace order_engine
