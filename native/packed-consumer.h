// A librdkafka consumer whose fetched records reach JavaScript packed, one ArrayBuffer
// per partition (see packed-consumer.cc).
#pragma once
#include <napi.h>

#include <memory>

namespace order_engine {

class PackedConsumer : public Napi::ObjectWrap<PackedConsumer> {
 public:
  struct Handle;

  static Napi::Function Define(Napi::Env env);
  explicit PackedConsumer(const Napi::CallbackInfo& info);

 private:
  bool Usable(Napi::Env env);
  Napi::Value Assign(const Napi::CallbackInfo& info);
  Napi::Value Unassign(const Napi::CallbackInfo& info);
  Napi::Value ChangeAssignment(const Napi::CallbackInfo& info, bool add);
  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value Fetch(const Napi::CallbackInfo& info);
  Napi::Value Watermarks(const Napi::CallbackInfo& info);
  Napi::Value TakeErrors(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<Handle> handle_;
};

}  // namespace order_engine
