// The process entry: sizes libuv's threadpool, then starts the service (service.ts).
//
// The pool is created on its first use and never resized, and an ES module entry has
// used it before its first line runs: the module loader reads every file of the graph
// through it. Only a CommonJS entry, whose files are read synchronously, can still set
// UV_THREADPOOL_SIZE for its own process. Node's default of four threads is too few
// here: every blocking call node-rdkafka makes (consume with a timeout, the
// transactional calls, committed offsets, seek, disconnect) holds a thread for its
// duration, and a transactional call stuck in librdkafka after a broker restart
// (librdkafka #5456) holds one for minutes. With four, two such calls and the
// consumers' polls left nothing for the checkpoint writes, Postgres's DNS lookups and
// the stream threads' store reads: the saga stopped for good after a broker restart
// (the broker-restart fault test lost 2,914 to 4,008 orders in 6 of 9 runs with four
// threads, none in 4 of 4 with 16). An operator's own UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./service.js');
