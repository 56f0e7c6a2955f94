// Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2, librdkafka rd_murmur2).
#pragma once
#include <cstddef>
#include <cstdint>

namespace order_engine {

// Returns the 32-bit murmur2 hash exactly as the Java client computes it
// (seed 0x9747b28c, little-endian 4-byte blocks, the tail folded in reverse).
int32_t Murmur2(const uint8_t* data, size_t length);

// Kafka's default partitioner for a non-null key: toPositive(murmur2(key)) % n.
inline int32_t PartitionFor(const uint8_t* data, size_t length, int32_t numPartitions) {
  return static_cast<int32_t>((static_cast<uint32_t>(Murmur2(data, length)) & 0x7fffffffu) %
                              static_cast<uint32_t>(numPartitions));
}

}  // namespace order_engine
