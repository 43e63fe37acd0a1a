// Process-wide counters of live native objects and copies, read by tests (leak and zero-copy
// proofs) through the addon's stats() export.
#pragma once

#include <atomic>
#include <cstdint>

namespace jetserve {

struct Counters {
  std::atomic<int64_t> live_sessions{0};
  std::atomic<int64_t> live_tensors{0};  // TF_Tensor objects owned by the addon
  std::atomic<int64_t> live_blocks{0};   // shared buffers (aligned blocks + adopted outputs)
  std::atomic<int64_t> bytes_copied_in{0};
  std::atomic<int64_t> bytes_copied_out{0};
  std::atomic<int64_t> zero_copy_inputs{0};
  std::atomic<int64_t> zero_copy_outputs{0};
};

Counters& counters();

}  // namespace jetserve
