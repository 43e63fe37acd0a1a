#include "cost_model.h"

#include <algorithm>

namespace jetserve {

void CostSlot::Record(double micros, bool inline_run) {
  std::lock_guard<std::mutex> lock(mutex_);
  recent_[runs_ % kRecentRuns] = static_cast<float>(micros);
  runs_++;
  (inline_run ? inline_runs_ : offloaded_runs_)++;
  last_ = micros;
  max_ = std::max(max_, micros);
  if (runs_ == 2) {
    ewma_ = micros;  // the first run (cold) is left out of the average
  } else if (runs_ > 2) {
    ewma_ += kEwmaWeight * (micros - ewma_);
  }
  if (runs_ >= static_cast<uint64_t>(kWarmupRuns)) {
    estimate_.store(std::max(ewma_, last_), std::memory_order_relaxed);
  }
}

CostSlot::Snapshot CostSlot::Read() const {
  Snapshot s;
  std::vector<float> recent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s.runs = runs_;
    s.inline_runs = inline_runs_;
    s.offloaded_runs = offloaded_runs_;
    s.ewma = runs_ >= 2 ? ewma_ : last_;
    s.last = last_;
    s.max = max_;
    recent.assign(recent_, recent_ + std::min<uint64_t>(runs_, kRecentRuns));
  }
  s.estimate = estimate();
  if (!recent.empty()) {
    const size_t rank = (recent.size() * 99 + 99) / 100 - 1;  // nearest-rank p99
    std::nth_element(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(rank), recent.end());
    s.p99 = recent[rank];
  }
  return s;
}

}  // namespace jetserve
