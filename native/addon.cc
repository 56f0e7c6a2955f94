// Thin N-API surface: argument checks live in the TypeScript wrapper
// (src/native/index.ts); this file only converts and calls.
#include <napi.h>

#include <string>

#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__APPLE__)
#include <pthread.h>
#endif

#include "crash-report.h"
#include "packed-consumer.h"
#include "murmur2.h"

namespace {

// murmur2(key: Buffer | string): number (signed 32-bit, as Java returns it)
Napi::Value Murmur2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsBuffer()) {
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    return Napi::Number::New(env, order_engine::Murmur2(buf.Data(), buf.Length()));
  }
  if (info[0].IsString()) {
    std::string s = info[0].As<Napi::String>().Utf8Value();
    return Napi::Number::New(
        env, order_engine::Murmur2(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  Napi::TypeError::New(env, "key must be a Buffer or a string").ThrowAsJavaScriptException();
  return env.Undefined();
}

// partition(key: string, numPartitions: number): number
Napi::Value Partition(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "expected (key: string, numPartitions: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Keys are order ids (at most 20 ASCII digits): a stack buffer avoids the
  // std::string allocation of Utf8Value on the hot path. The UTF-8 length is asked
  // first: a copy into a too-small buffer stops at the last whole character, so its
  // length alone cannot tell a short key from a truncated one.
  size_t len = 0;
  napi_status status = napi_get_value_string_utf8(env, info[0], nullptr, 0, &len);
  NAPI_THROW_IF_FAILED(env, status, env.Undefined());
  const int32_t n = info[1].As<Napi::Number>().Int32Value();
  char stack[64];
  if (len < sizeof(stack)) {
    status = napi_get_value_string_utf8(env, info[0], stack, sizeof(stack), &len);
    NAPI_THROW_IF_FAILED(env, status, env.Undefined());
    return Napi::Number::New(
        env, order_engine::PartitionFor(reinterpret_cast<const uint8_t*>(stack), len, n));
  }
  std::string s = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(
      env, order_engine::PartitionFor(reinterpret_cast<const uint8_t*>(s.data()), s.size(), n));
}

// setThreadName(name: string): boolean. Names the calling OS thread (Linux keeps 15
// bytes), so top -H, perf and /proc/<pid>/task/*/comm tell the service's threads apart;
// Node names none of its workers. False where the platform has no such call.
Napi::Value SetThreadName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "name must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value().substr(0, 15);
#if defined(__linux__)
  return Napi::Boolean::New(env, prctl(PR_SET_NAME, name.c_str(), 0, 0, 0) == 0);
#elif defined(__APPLE__)
  return Napi::Boolean::New(env, pthread_setname_np(name.c_str()) == 0);
#else
  return Napi::Boolean::New(env, false);
#endif
}

// installCrashReport(): boolean. From then on a fatal signal writes the crashing
// thread's native stack to stderr (crash-report.cc).
Napi::Value InstallCrashReport(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), order_engine::InstallCrashReport());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("murmur2", Napi::Function::New(env, Murmur2, "murmur2"));
  exports.Set("partition", Napi::Function::New(env, Partition, "partition"));
  exports.Set("setThreadName", Napi::Function::New(env, SetThreadName, "setThreadName"));
  exports.Set("installCrashReport", Napi::Function::New(env, InstallCrashReport, "installCrashReport"));
  exports.Set("PackedConsumer", order_engine::PackedConsumer::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(order_engine_native, Init)
