// The measured cost of running one (signature, batch-size bucket) of a session: what the
// placement policy reads to decide whether a run may execute on the JS thread.
//
// Every run — on the executor, inline, or through runSync — records its TF_SessionRun wall time.
// The estimate the policy uses is max(EWMA, last run): one slow run is enough to move the next
// one off the JS thread, and a model only comes back once its average is under the threshold too.
// Warm-up: the first run of a slot is not averaged (TF builds its executor for a new feed/fetch set
// and oneDNN compiles kernels for a new shape then), and a slot with fewer than kWarmupRuns runs
// has no estimate at all, so the policy sends those runs to the executor: a model never runs on
// the JS thread before it has been measured off it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace jetserve {

class CostSlot {
 public:
  static constexpr int kWarmupRuns = 2;
  static constexpr double kEwmaWeight = 1.0 / 8;  // of the newest run
  static constexpr int kRecentRuns = 128;          // window of the high percentile

  // Any thread.
  void Record(double micros, bool inline_run);
  // Any thread; < 0 while warming up.
  double estimate() const { return estimate_.load(std::memory_order_relaxed); }

  struct Snapshot {
    uint64_t runs = 0;
    uint64_t inline_runs = 0;
    uint64_t offloaded_runs = 0;
    double ewma = 0;
    double p99 = 0;  // over the last kRecentRuns runs
    double last = 0;
    double max = 0;
    double estimate = -1;
  };
  Snapshot Read() const;

 private:
  std::atomic<double> estimate_{-1};
  mutable std::mutex mutex_;
  uint64_t runs_ = 0;
  uint64_t inline_runs_ = 0;
  uint64_t offloaded_runs_ = 0;
  double ewma_ = 0;
  double last_ = 0;
  double max_ = 0;
  float recent_[kRecentRuns] = {};
};

// One slot per (signature index, batch bucket), indexed signature * kBatchBuckets + bucket.
// The JS layer computes the index; the bucket of batch n is ceil(log2(n)) (0 for n <= 1).
class CostModel {
 public:
  static constexpr int kBatchBuckets = 32;
  explicit CostModel(size_t signatures) : slots_(signatures * kBatchBuckets) {}
  // nullptr for an index out of range (such a run is simply not measured and never inline).
  CostSlot* slot(int64_t index) {
    return index >= 0 && static_cast<size_t>(index) < slots_.size() ? &slots_[static_cast<size_t>(index)] : nullptr;
  }
  size_t size() const { return slots_.size(); }

 private:
  std::vector<CostSlot> slots_;
};

}  // namespace jetserve
