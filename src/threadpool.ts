// Sizes libuv's threadpool before anything uses it (main.ts imports this first; the
// pool is created on first use and never resized). Four threads, Node's default, are
// too few here: every blocking librdkafka call of node-rdkafka (consume with a
// timeout, commitTransaction and abortTransaction, which wait up to the transaction
// timeout while a broker is away, getMetadata, seek) holds one for its duration, and
// RocksDB's reads and writes in the stream threads share the same pool. During a
// broker outage four such calls starved the stores and every pending query.
// An operator's own UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
