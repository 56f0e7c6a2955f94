// A librdkafka consumer whose fetched records reach JavaScript as one packed
// ArrayBuffer per partition instead of one object per record: the changelog reader's
// (manual assignment, partition EOFs) and the status projector's (a group member,
// committing, keeping only records whose value holds one of a few byte strings).
//
// node-rdkafka turns every message into a JS object with copied key and value Buffers,
// a topic string and numbers, on the one thread that may load node-rdkafka. During a
// restore that conversion was half of that thread's time and the restore's ceiling;
// under intake, the status projector's conversion of every NEW record it then passed
// over cost a fifth of the POSTs per second. Here the poll, the filter and the packing
// run on a libuv worker thread, and the JS thread receives per partition the bytes in
// the layout of src/stream/restore-batch.ts (u8 topic index, u32 key length, key, i32
// value length or -1, value; little-endian), ready to be transferred to the
// partition's stream thread.
//
// It links the librdkafka that node-rdkafka builds (node_modules/node-rdkafka/build/
// deps): one copy of the library in the process, whichever addon loads first. Argument
// checks live in the TypeScript wrapper (src/native/packed-consumer.ts).
#include "packed-consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
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
  std::vector<Position> positions;  // per topic: the offset after the last record polled (kept or not)
  std::vector<int64_t> offsets;     // the kept records' offsets, when asked for

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
  // A record not kept only moves its topic's position.
  bool Append(const rd_kafka_message_t* m, const char* topic, bool keep, bool withOffset) {
    const int found = TopicIndex(topic);
    if (found < 0) return false;
    const uint8_t index = static_cast<uint8_t>(found);
    positions[index].next = m->offset + 1;
    if (!keep) return true;
    if (withOffset) offsets.push_back(m->offset);
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
  bool polled;  // returned by the poll (the consumer's: a partition, the poll interval) rather than a client event
};

struct TopicPartition {
  std::string topic;
  int32_t partition;
};

struct FetchResult {
  std::map<int32_t, PartitionBatch> batches;
  std::vector<Eof> eofs;
  std::vector<ClientError> errors;
  bool subscribed = false;
  std::vector<TopicPartition> assignment;  // when subscribed: the group's assignment after the poll
};

std::string ErrorText(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

Napi::Array ErrorsToJs(Napi::Env env, const std::vector<ClientError>& list) {
  Napi::Array out = Napi::Array::New(env, list.size());
  for (uint32_t e = 0; e < list.size(); e++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", Napi::Number::New(env, list[e].code));
    o.Set("message", Napi::String::New(env, list[e].message));
    o.Set("fatal", Napi::Boolean::New(env, list[e].fatal));
    o.Set("polled", Napi::Boolean::New(env, list[e].polled));
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

struct PackedConsumer::Handle {
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> closed{false};
  std::shared_mutex use;
  std::mutex errorsMutex;
  std::vector<ClientError> errors;
  size_t dropped = 0;
  // Set before the first fetch, read by the workers.
  std::vector<std::string> valueContains;  // keep a record only if its value holds one of these
  bool withOffsets = false;
  std::atomic<bool> subscribed{false};

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
    self->errors.push_back({err, text, fatal, false});
  }

  static void OnCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    (void)rk;
    (void)offsets;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    OnError(rk, err, (std::string("offset commit failed: ") + ErrorText(err)).c_str(), opaque);
  }

  // A group's assignment changes here, inside a fetch's poll, as it would in an
  // application's rebalance callback: without one, librdkafka revokes partitions on
  // its own thread at once, and a member busy elsewhere (the status projector retrying
  // a batch while Postgres is down) would lose partitions under a batch it has not
  // committed, and its view of what it owns would be stale when it commits.
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t* error = nullptr;
    rd_kafka_resp_err_t eager = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) error = rd_kafka_incremental_assign(rk, parts);
      else eager = rd_kafka_assign(rk, parts);
    } else {
      if (cooperative) error = rd_kafka_incremental_unassign(rk, parts);
      else eager = rd_kafka_assign(rk, nullptr);
    }
    if (error != nullptr) {
      OnError(rk, rd_kafka_error_code(error), (std::string("rebalance: ") + rd_kafka_error_string(error)).c_str(), opaque);
      rd_kafka_error_destroy(error);
    } else if (eager != RD_KAFKA_RESP_ERR_NO_ERROR) {
      OnError(rk, eager, (std::string("rebalance: ") + ErrorText(eager)).c_str(), opaque);
    }
  }

  bool Keep(const rd_kafka_message_t* m) const {
    if (valueContains.empty()) return true;
    if (m->payload == nullptr) return false;
    for (const auto& needle : valueContains) {
      if (memmem(m->payload, m->len, needle.data(), needle.size()) != nullptr) return true;
    }
    return false;
  }

  // Serves the client's queue (error callbacks) and moves what it reported to `out`.
  // Called with `use` held shared and rk set.
  void ServeErrors(std::vector<ClientError>& out) {
    rd_kafka_poll(rk, 0);
    std::lock_guard<std::mutex> lock(errorsMutex);
    if (dropped > 0) {
      out.push_back({RD_KAFKA_RESP_ERR__FAIL, std::to_string(dropped) + " earlier client errors were not kept", false, false});
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

// A worker that calls librdkafka: holds the client (shared) while it runs, and fails if
// close() destroyed it first.
class ClientWorker : public Napi::AsyncWorker {
 public:
  ClientWorker(Napi::Function cb, const char* name, std::shared_ptr<PackedConsumer::Handle> handle)
      : Napi::AsyncWorker(cb, name), handle_(std::move(handle)) {}

  void Execute() override {
    std::shared_lock<std::shared_mutex> lock(handle_->use);
    if (handle_->rk == nullptr) {
      SetError("the packed consumer is closed");
      return;
    }
    Run();
  }

 protected:
  virtual void Run() = 0;
  std::shared_ptr<PackedConsumer::Handle> handle_;
};

class FetchWorker : public ClientWorker {
 public:
  FetchWorker(Napi::Function cb, std::shared_ptr<PackedConsumer::Handle> handle, int maxRecords,
              size_t maxBytes, int waitMs)
      : ClientWorker(cb, "packed-consumer-fetch", std::move(handle)),
        maxRecords_(maxRecords),
        maxBytes_(maxBytes),
        waitMs_(waitMs) {}

  void Run() override {
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
        result_.errors.push_back({m->err, fatal ? std::string(reason) : text, fatal, true});
      } else {
        PartitionBatch& batch = result_.batches[m->partition];
        if (!batch.Append(m, rd_kafka_topic_name(m->rkt), handle_->Keep(m), handle_->withOffsets)) {
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
    if (handle_->subscribed.load()) {
      result_.subscribed = true;
      rd_kafka_topic_partition_list_t* parts = nullptr;
      if (rd_kafka_assignment(handle_->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR && parts != nullptr) {
        for (int i = 0; i < parts->cnt; i++) result_.assignment.push_back({parts->elems[i].topic, parts->elems[i].partition});
      }
      if (parts != nullptr) rd_kafka_topic_partition_list_destroy(parts);
    }
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
      if (!batch.offsets.empty()) {
        Napi::Array offsets = Napi::Array::New(env, batch.offsets.size());
        for (uint32_t o = 0; o < batch.offsets.size(); o++) offsets.Set(o, Napi::Number::New(env, static_cast<double>(batch.offsets[o])));
        b.Set("offsets", offsets);
      }
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
    if (result_.subscribed) {
      Napi::Array assignment = Napi::Array::New(env, result_.assignment.size());
      for (uint32_t a = 0; a < result_.assignment.size(); a++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("topic", Napi::String::New(env, result_.assignment[a].topic));
        o.Set("partition", Napi::Number::New(env, result_.assignment[a].partition));
        assignment.Set(a, o);
      }
      out.Set("assignment", assignment);
    }
    Callback().Call({env.Null(), out});
  }

 private:
  const int maxRecords_;
  const size_t maxBytes_;
  const int waitMs_;
  FetchResult result_;
};

class WatermarksWorker : public ClientWorker {
 public:
  WatermarksWorker(Napi::Function cb, std::shared_ptr<PackedConsumer::Handle> handle, std::string topic,
                   int32_t partition, int timeoutMs)
      : ClientWorker(cb, "packed-consumer-watermarks", std::move(handle)),
        topic_(std::move(topic)),
        partition_(partition),
        timeoutMs_(timeoutMs) {}

  void Run() override {
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
  const std::string topic_;
  const int32_t partition_;
  const int timeoutMs_;
  int64_t low_ = 0;
  int64_t high_ = 0;
};

class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Function cb, std::shared_ptr<PackedConsumer::Handle> handle)
      : Napi::AsyncWorker(cb, "packed-consumer-close"), handle_(std::move(handle)) {}

  void Execute() override { handle_->Destroy(); }

 private:
  std::shared_ptr<PackedConsumer::Handle> handle_;
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

Napi::Function PackedConsumer::Define(Napi::Env env) {
  return DefineClass(env, "PackedConsumer",
                     {
                         InstanceMethod<&PackedConsumer::Assign>("assign"),
                         InstanceMethod<&PackedConsumer::Unassign>("unassign"),
                         InstanceMethod<&PackedConsumer::Subscribe>("subscribe"),
                         InstanceMethod<&PackedConsumer::Commit>("commit"),
                         InstanceMethod<&PackedConsumer::Fetch>("fetch"),
                         InstanceMethod<&PackedConsumer::Watermarks>("watermarks"),
                         InstanceMethod<&PackedConsumer::TakeErrors>("takeErrors"),
                         InstanceMethod<&PackedConsumer::Close>("close"),
                     });
}

// new PackedConsumer(config: Record<string, string>, options: { valueContains: string[], offsets: boolean })
PackedConsumer::PackedConsumer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PackedConsumer>(info) {
  Napi::Env env = info.Env();
  Napi::Object config = info[0].As<Napi::Object>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto handle = std::make_shared<Handle>();
  // Partition EOFs and per-partition errors come out of rd_kafka_consumer_poll as
  // messages with err set; the client's errors reach OnError (rd_kafka_poll).
  rd_kafka_conf_set_opaque(conf, handle.get());
  rd_kafka_conf_set_error_cb(conf, &Handle::OnError);
  rd_kafka_conf_set_offset_commit_cb(conf, &Handle::OnCommit);
  rd_kafka_conf_set_rebalance_cb(conf, &Handle::OnRebalance);
  Napi::Object options = info[1].As<Napi::Object>();
  Napi::Array needles = options.Get("valueContains").As<Napi::Array>();
  for (uint32_t i = 0; i < needles.Length(); i++) handle->valueContains.push_back(needles.Get(i).As<Napi::String>().Utf8Value());
  handle->withOffsets = options.Get("offsets").ToBoolean().Value();
  char err[512];
  Napi::Array keys = config.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string value = config.Get(key).ToString().Utf8Value();
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      Napi::Error::New(env, std::string("packed consumer config: ") + err).ThrowAsJavaScriptException();
      return;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    Napi::Error::New(env, std::string("packed consumer: ") + err).ThrowAsJavaScriptException();
    return;
  }
  handle_ = std::move(handle);
  handle_->rk = rk;
}

bool PackedConsumer::Usable(Napi::Env env) {
  if (handle_ == nullptr || handle_->closed.load()) {
    Napi::Error::New(env, "the packed consumer is closed").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// assign([{ topic, partition, offset }]) and unassign([{ topic, partition }]): add to
// and remove from the assignment (incremental).
Napi::Value PackedConsumer::Assign(const Napi::CallbackInfo& info) { return ChangeAssignment(info, true); }
Napi::Value PackedConsumer::Unassign(const Napi::CallbackInfo& info) { return ChangeAssignment(info, false); }

Napi::Value PackedConsumer::ChangeAssignment(const Napi::CallbackInfo& info, bool add) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  rd_kafka_topic_partition_list_t* list = PartitionList(info[0].As<Napi::Array>(), add);
  rd_kafka_error_t* error = add ? rd_kafka_incremental_assign(handle_->rk, list) : rd_kafka_incremental_unassign(handle_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (error != nullptr) {
    const std::string text = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    Napi::Error::New(env, std::string("packed consumer ") + (add ? "assign: " : "unassign: ") + text).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// subscribe([topic]): joins the consumer group (group.id) for these topics; partitions
// are assigned and revoked inside a fetch's poll (OnRebalance), and each fetch reports
// the assignment.
Napi::Value PackedConsumer::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  Napi::Array topics = info[0].As<Napi::Array>();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.Length()));
  for (uint32_t i = 0; i < topics.Length(); i++) {
    rd_kafka_topic_partition_list_add(list, topics.Get(i).As<Napi::String>().Utf8Value().c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Napi::Error::New(env, "packed consumer subscribe: " + ErrorText(err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  handle_->subscribed.store(true);
  return env.Undefined();
}

// commit([{ topic, partition, offset }]): the group's offsets, asynchronously (a failure
// comes back as a client error).
Napi::Value PackedConsumer::Commit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  rd_kafka_topic_partition_list_t* list = PartitionList(info[0].As<Napi::Array>(), true);
  const rd_kafka_resp_err_t err = rd_kafka_commit(handle_->rk, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) Napi::Error::New(env, "packed consumer commit: " + ErrorText(err)).ThrowAsJavaScriptException();
  return env.Undefined();
}

// fetch(maxRecords, maxBytes, waitMs, cb(err, { batches, eofs, errors }))
Napi::Value PackedConsumer::Fetch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  auto* worker = new FetchWorker(info[3].As<Napi::Function>(), handle_, info[0].As<Napi::Number>().Int32Value(),
                                 static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()),
                                 info[2].As<Napi::Number>().Int32Value());
  worker->Queue();
  return env.Undefined();
}

// watermarks(topic, partition, timeoutMs, cb(err, { lowOffset, highOffset }))
Napi::Value PackedConsumer::Watermarks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env)) return env.Undefined();
  auto* worker = new WatermarksWorker(info[3].As<Napi::Function>(), handle_, info[0].As<Napi::String>().Utf8Value(),
                                      info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value());
  worker->Queue();
  return env.Undefined();
}

// takeErrors(): [{ code, message, fatal }], the client errors reported since the last
// fetch or call. Never waits: while a close holds the client, nothing.
Napi::Value PackedConsumer::TakeErrors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<ClientError> taken;
  if (handle_ != nullptr) {
    std::shared_lock<std::shared_mutex> lock(handle_->use, std::try_to_lock);
    if (lock.owns_lock() && handle_->rk != nullptr) handle_->ServeErrors(taken);
  }
  return ErrorsToJs(env, taken);
}

// close(cb(err)): leaves the partitions and destroys the client, once no call is running.
Napi::Value PackedConsumer::Close(const Napi::CallbackInfo& info) {
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
