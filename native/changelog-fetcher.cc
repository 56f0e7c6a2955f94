// A plain (never a group member, never committing) librdkafka consumer for reading
// changelogs, whose fetched records reach JavaScript as one packed ArrayBuffer per
// partition instead of one object per record.
//
// node-rdkafka turns every message into a JS object with copied key and value Buffers,
// a topic string and numbers; during a restore that conversion, on the one thread that
// may load node-rdkafka, was half of that thread's time and the restore's ceiling. Here
// the poll and the packing run on a libuv worker thread, and the JS thread receives
// per partition the bytes in the layout of src/stream/restore-batch.ts (u8 topic index,
// u32 key length, key, i32 value length or -1, value; little-endian), ready to be
// transferred to the partition's stream thread.
//
// It links the librdkafka that node-rdkafka builds (node_modules/node-rdkafka/build/
// deps): one copy of the library in the process, whichever addon loads first. Argument
// checks live in the TypeScript wrapper (src/native/changelog-fetcher.ts).
#include "changelog-fetcher.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the packed layout is little-endian, as the host must be");

namespace order_engine {
namespace {

struct Position {
  std::string topic;
  int64_t next;
};

struct PartitionBatch {
  std::vector<std::string> topics;  // index = the topic byte of each record
  std::vector<uint8_t> bytes;
  uint32_t count = 0;
  std::vector<Position> positions;  // per topic: the offset after the last record taken

  // The topic's index in `topics`, added if new; -1 past the 255 a record's byte holds.
  int TopicIndex(const char* topic) {
    for (size_t i = 0; i < topics.size(); i++) {
      if (topics[i] == topic) return static_cast<int>(i);
    }
    if (topics.size() == 255) return -1;
    topics.emplace_back(topic);
    positions.push_back({topic, 0});
    return static_cast<int>(topics.size() - 1);
  }

  // False when the record's topic is one too many for the batch (nothing is appended).
  bool Append(const rd_kafka_message_t* m, const char* topic) {
    const int found = TopicIndex(topic);
    if (found < 0) return false;
    const uint8_t index = static_cast<uint8_t>(found);
    const uint32_t keyLength = m->key == nullptr ? 0 : static_cast<uint32_t>(m->key_len);
    const int32_t valueLength = m->payload == nullptr ? -1 : static_cast<int32_t>(m->len);
    const size_t at = bytes.size();
    bytes.resize(at + 1 + 4 + keyLength + 4 + (valueLength < 0 ? 0 : valueLength));
    uint8_t* out = bytes.data() + at;
    *out++ = index;
    std::memcpy(out, &keyLength, 4);  // host order: little-endian (asserted above)
    out += 4;
    if (keyLength > 0) std::memcpy(out, m->key, keyLength);
    out += keyLength;
    std::memcpy(out, &valueLength, 4);
    out += 4;
    if (valueLength > 0) std::memcpy(out, m->payload, static_cast<size_t>(valueLength));
    count++;
    positions[index].next = m->offset + 1;
    return true;
  }
};

struct Eof {
  std::string topic;
  int32_t partition;
  int64_t offset;
};

struct ClientError {
  int code;
  std::string message;
  bool fatal;
};

struct FetchResult {
  std::map<int32_t, PartitionBatch> batches;
  std::vector<Eof> eofs;
  std::vector<ClientError> errors;
};

std::string ErrorText(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

Napi::Array ErrorsToJs(Napi::Env env, const std::vector<ClientError>& list) {
  Napi::Array out = Napi::Array::New(env, list.size());
  for (uint32_t e = 0; e < list.size(); e++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", Napi::Number::New(env, list[e].code));
    o.Set("message", Napi::String::New(env, list[e].message));
    o.Set("fatal", Napi::Boolean::New(env, list[e].fatal));
    out.Set(e, o);
  }
  return out;
}

}  // namespace

// The handle is shared with the workers that use it. Workers hold `use` shared while
// they call librdkafka; close() takes it exclusively, so it destroys the client only
// once no call is running, and a worker that runs after it finds no client. A fetcher
// collected without close() is destroyed by its last owner.
//
// Client errors (a broker away, say) reach `OnError` through rd_kafka_poll, which
// serves the client's own queue: the records' queue is served by fetches only, and a
// reader with nothing assigned does not fetch, so its errors are taken by
// TakeErrors() instead. At most kMaxErrors wait; older ones are counted, not kept.
constexpr size_t kMaxErrors = 100;

struct ChangelogFetcher::Handle {
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> closed{false};
  std::shared_mutex use;
  std::mutex errorsMutex;
  std::vector<ClientError> errors;
  size_t dropped = 0;

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Handle*>(opaque);
    const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    std::string text = reason != nullptr ? reason : ErrorText(static_cast<rd_kafka_resp_err_t>(err));
    if (fatal) {
      char why[512];
      if (rd_kafka_fatal_error(rk, why, sizeof(why)) != RD_KAFKA_RESP_ERR_NO_ERROR) text = why;
    }
    std::lock_guard<std::mutex> lock(self->errorsMutex);
    if (self->errors.size() == kMaxErrors) {
      self->errors.erase(self->errors.begin());
      self->dropped++;
    }
    self->errors.push_back({err, text, fatal});
  }

  // Serves the client's queue (error callbacks) and moves what it reported to `out`.
  // Called with `use` held shared and rk set.
  void ServeErrors(std::vector<ClientError>& out) {
    rd_kafka_poll(rk, 0);
    std::lock_guard<std::mutex> lock(errorsMutex);
    if (dropped > 0) {
      out.push_back({RD_KAFKA_RESP_ERR__FAIL, std::to_string(dropped) + " earlier client errors were not kept", false});
      dropped = 0;
    }
    for (auto& e : errors) out.push_back(std::move(e));
    errors.clear();
  }

  void Destroy() {
    std::unique_lock<std::shared_mutex> lock(use);
    closed.store(true);
    if (rk == nullptr) return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rk = nullptr;
  }

  ~Handle() { Destroy(); }
};

namespace {

class FetchWorker : public Napi::AsyncWorker {
 public:
  FetchWorker(Napi::Function cb, std::shared_ptr<ChangelogFetcher::Handle> handle, int maxRecords,
              size_t maxBytes, int waitMs)
      : Napi::AsyncWorker(cb, "changelog-fetch"),
        handle_(std::move(handle)),
        maxRecords_(maxRecords),
        maxBytes_(maxBytes),
        waitMs_(waitMs) {}

  void Execute() override {
    std::shared_lock<std::shared_mutex> lock(handle_->use);
    if (handle_->rk == nullptr) {
      SetError("the changelog fetcher is closed");
      return;
    }
    int taken = 0;
    size_t bytes = 0;
    int wait = waitMs_;
    while (taken < maxRecords_ && bytes < maxBytes_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(handle_->rk, wait);
      if (m == nullptr) break;
      wait = 0;  // the first record is waited for, the rest taken as fetched
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        result_.eofs.push_back({rd_kafka_topic_name(m->rkt), m->partition, m->offset});
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char reason[512];
        const bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL &&
                           rd_kafka_fatal_error(handle_->rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR;
        std::string text = m->payload != nullptr ? std::string(static_cast<const char*>(m->payload), m->len)
                                                 : ErrorText(m->err);
        if (m->rkt != nullptr) text = std::string(rd_kafka_topic_name(m->rkt)) + " [" + std::to_string(m->partition) + "]: " + text;
        result_.errors.push_back({m->err, fatal ? std::string(reason) : text, fatal});
      } else {
        PartitionBatch& batch = result_.batches[m->partition];
        if (!batch.Append(m, rd_kafka_topic_name(m->rkt))) {
          rd_kafka_message_destroy(m);
          SetError("a fetch met more than 255 topics on one partition");
          return;
        }
        taken++;
        bytes += m->len + m->key_len;
      }
      rd_kafka_message_destroy(m);
    }
    handle_->ServeErrors(result_.errors);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object out = Napi::Object::New(env);
    Napi::Array batches = Napi::Array::New(env, result_.batches.size());
    uint32_t i = 0;
    for (auto& [partition, batch] : result_.batches) {
      Napi::Object b = Napi::Object::New(env);
      b.Set("partition", Napi::Number::New(env, partition));
      Napi::Array topics = Napi::Array::New(env, batch.topics.size());
      Napi::Array positions = Napi::Array::New(env, batch.positions.size());
      for (uint32_t t = 0; t < batch.topics.size(); t++) {
        topics.Set(t, Napi::String::New(env, batch.topics[t]));
        Napi::Object p = Napi::Object::New(env);
        p.Set("topic", Napi::String::New(env, batch.positions[t].topic));
        p.Set("offset", Napi::Number::New(env, static_cast<double>(batch.positions[t].next)));
        positions.Set(t, p);
      }
      b.Set("topics", topics);
      b.Set("positions", positions);
      b.Set("count", Napi::Number::New(env, batch.count));
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, batch.bytes.size());
      if (!batch.bytes.empty()) std::memcpy(ab.Data(), batch.bytes.data(), batch.bytes.size());
      b.Set("bytes", ab);
      batches.Set(i++, b);
    }
    out.Set("batches", batches);
    Napi::Array eofs = Napi::Array::New(env, result_.eofs.size());
    for (uint32_t e = 0; e < result_.eofs.size(); e++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("topic", Napi::String::New(env, result_.eofs[e].topic));
      o.Set("partition", Napi::Number::New(env, result_.eofs[e].partition));
      o.Set("offset", Napi::Number::New(env, static_cast<double>(result_.eofs[e].offset)));
      eofs.Set(e, o);
    }
    out.Set("eofs", eofs);
    out.Set("errors", ErrorsToJs(env, result_.errors));
    Callback().Call({env.Null(), out});
  }

 private:
  std::shared_ptr<ChangelogFetcher::Handle> handle_;
  const int maxRecords_;
  const size_t maxBytes_;
  const int waitMs_;
  FetchResult result_;
};

class WatermarksWorker : public Napi::AsyncWorker {
 public:
  WatermarksWorker(Napi::Function cb, std::shared_ptr<ChangelogFetcher::Handle> handle, std::string topic,
                   int32_t partition, int timeoutMs)
      : Napi::AsyncWorker(cb, "changelog-watermarks"),
        handle_(std::move(handle)),
        topic_(std::move(topic)),
        partition_(partition),
        timeoutMs_(timeoutMs) {}

  void Execute() override {
    std::shared_lock<std::shared_mutex> lock(handle_->use);
    if (handle_->rk == nullptr) {
      SetError("the changelog fetcher is closed");
      return;
    }
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(handle_->rk, topic_.c_str(), partition_, &low_, &high_, timeoutMs_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) SetError(ErrorText(err));
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("lowOffset", Napi::Number::New(env, static_cast<double>(low_)));
    out.Set("highOffset", Napi::Number::New(env, static_cast<double>(high_)));
    Callback().Call({env.Null(), out});
  }

 private:
  std::shared_ptr<ChangelogFetcher::Handle> handle_;
  const std::string topic_;
  const int32_t partition_;
  const int timeoutMs_;
  int64_t low_ = 0;
  int64_t high_ = 0;
};

class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Function cb, std::shared_ptr<ChangelogFetcher::Handle> handle)
      : Napi::AsyncWorker(cb, "changelog-close"), handle_(std::move(handle)) {}

  void Execute() override { handle_->Destroy(); }

 private:
  std::shared_ptr<ChangelogFetcher::Handle> handle_;
};

/** [{ topic, partition, offset? }] → a list librdkafka owns (the caller destroys it). */
rd_kafka_topic_partition_list_t* PartitionList(const Napi::Array& list, bool withOffsets) {
  rd_kafka_topic_partition_list_t* out = rd_kafka_topic_partition_list_new(static_cast<int>(list.Length()));
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object p = list.Get(i).As<Napi::Object>();
    const std::string topic = p.Get("topic").As<Napi::String>().Utf8Value();
    const int32_t partition = p.Get("partition").As<Napi::Number>().Int32Value();
    rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(out, topic.c_str(), partition);
    if (withOffsets) tp->offset = p.Get("offset").As<Napi::Number>().Int64Value();
  }
  return out;
}

}  // namespace

Napi::Function ChangelogFetcher::Define(Napi::Env env) {
  return DefineClass(env, "ChangelogFetcher",
                     {
                         InstanceMethod<&ChangelogFetcher::Assign>("assign"),
                         InstanceMethod<&ChangelogFetcher::Unassign>("unassign"),
                         InstanceMethod<&ChangelogFetcher::Fetch>("fetch"),
                         InstanceMethod<&ChangelogFetcher::Watermarks>("watermarks"),
                         InstanceMethod<&ChangelogFetcher::TakeErrors>("takeErrors"),
                         InstanceMethod<&ChangelogFetcher::Close>("close"),
                     });
}

// new ChangelogFetcher(config: Record<string, string>)
ChangelogFetcher::ChangelogFetcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChangelogFetcher>(info) {
  Napi::Env env = info.Env();
  Napi::Object config = info[0].As<Napi::Object>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto handle = std::make_shared<Handle>();
  // Partition EOFs and per-partition errors come out of rd_kafka_consumer_poll as
  // messages with err set; the client's errors reach OnError (rd_kafka_poll).
  rd_kafka_conf_set_opaque(conf, handle.get());
  rd_kafka_conf_set_error_cb(conf, &Handle::OnError);
  char err[512];
  Napi::Array keys = config.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string value = config.Get(key).ToString().Utf8Value();
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      Napi::Error::New(env, std::string("changelog fetcher config: ") + err).ThrowAsJavaScriptException();
      return;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    Napi::Error::New(env, std::string("changelog fetcher: ") + err).ThrowAsJavaScriptException();
    return;
  }
  handle_ = std::move(handle);
  handle_->rk = rk;
}

bool ChangelogFetcher::Usable(Napi::Env env) {
  if (handle_ == nullptr || handle_->closed.load()) {
    Napi::Error::New(env, "the changelog fetcher is closed").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// assign([{ topic, partition, offset }]): adds to the assignment (incremental).
Napi::Value ChangelogFetcher::Assign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  rd_kafka_topic_partition_list_t* list = PartitionList(info[0].As<Napi::Array>(), true);
  rd_kafka_error_t* error = rd_kafka_incremental_assign(handle_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (error != nullptr) {
    const std::string text = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    Napi::Error::New(env, "changelog fetcher assign: " + text).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// unassign([{ topic, partition }]): removes from the assignment (incremental).
Napi::Value ChangelogFetcher::Unassign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  rd_kafka_topic_partition_list_t* list = PartitionList(info[0].As<Napi::Array>(), false);
  rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (error != nullptr) {
    const std::string text = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    Napi::Error::New(env, "changelog fetcher unassign: " + text).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// fetch(maxRecords, maxBytes, waitMs, cb(err, { batches, eofs, errors }))
Napi::Value ChangelogFetcher::Fetch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  auto* worker = new FetchWorker(info[3].As<Napi::Function>(), handle_, info[0].As<Napi::Number>().Int32Value(),
                                 static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()),
                                 info[2].As<Napi::Number>().Int32Value());
  worker->Queue();
  return env.Undefined();
}

// watermarks(topic, partition, timeoutMs, cb(err, { lowOffset, highOffset }))
Napi::Value ChangelogFetcher::Watermarks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  auto* worker = new WatermarksWorker(info[3].As<Napi::Function>(), handle_, info[0].As<Napi::String>().Utf8Value(),
                                      info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value());
  worker->Queue();
  return env.Undefined();
}

// takeErrors(): [{ code, message, fatal }], the client errors reported since the last
// fetch or call. Never waits: while a close holds the client, nothing.
Napi::Value ChangelogFetcher::TakeErrors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<ClientError> taken;
  if (handle_ != nullptr) {
    std::shared_lock<std::shared_mutex> lock(handle_->use, std::try_to_lock);
    if (lock.owns_lock() && handle_->rk != nullptr) handle_->ServeErrors(taken);
  }
  return ErrorsToJs(env, taken);
}

// close(cb(err)): leaves the partitions and destroys the client, once no call is running.
Napi::Value ChangelogFetcher::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ == nullptr || handle_->closed.load()) {
    info[0].As<Napi::Function>().Call({env.Null()});
    return env.Undefined();
  }
  handle_->closed.store(true);  // no call is queued after this one
  auto* worker = new CloseWorker(info[0].As<Napi::Function>(), handle_);
  worker->Queue();
  return env.Undefined();
}

}  // namespace order_engine
