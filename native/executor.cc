#include "executor.h"

#include "compute_priority.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace jetserve {

Executor::Executor(Napi::Env env, size_t threads) : env_(env) {
  if (const char* spin = std::getenv("JETSERVE_EXECUTOR_SPIN_US")) {
    char* end = nullptr;
    const long value = std::strtol(spin, &end, 10);
    if (end != spin && *end == '\0' && value >= 0 && value <= 1000000) spin_micros_ = static_cast<int>(value);
  }
  napi_value name = Napi::String::New(env, "jetserve.executor");
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, this,
                                                       &Executor::CallJs, &tsfn_);
  NAPI_THROW_IF_FAILED_VOID(env, status);
  // Unreferenced while idle: an idle executor must not keep the process alive.
  napi_unref_threadsafe_function(env, tsfn_);
  // Registered after the thread-safe function: hooks run last-in first-out, so this one stops the
  // threads before Node tears that function down.
  cleanup_hook_ = napi_add_env_cleanup_hook(env, &Executor::OnEnvCleanup, this) == napi_ok;
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; i++) threads_.emplace_back([this] { WorkerLoop(); });
}

Executor::~Executor() {
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, &Executor::OnEnvCleanup, this);
  Stop();
}

void Executor::OnEnvCleanup(void* executor) {
  auto* self = static_cast<Executor*>(executor);
  self->cleanup_hook_ = false;  // Node drops a hook once it has run
  self->Stop();
}

void Executor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  // A thread inside TF_SessionRun finishes that run; none starts another.
  for (auto& thread : threads_) thread.join();
  {
    // Dedicated jobs (loads/closes) must finish before TF or their memory goes.
    std::unique_lock<std::mutex> lock(done_mutex_);
    dedicated_cv_.wait(lock, [this] { return dedicated_running_ == 0; });
  }
  // Jobs never started, or finished but never completed: nobody is left to receive them.
  queue_.clear();
  std::vector<std::unique_ptr<Job>> done;
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    done.swap(done_);
  }
  done.clear();
  if (tsfn_ != nullptr) {
    napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
    tsfn_ = nullptr;
  }
}

void Executor::Submit(std::unique_ptr<Job> job) {
  Retain();
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_release);
  }
  queue_cv_.notify_one();
}

void Executor::SubmitDedicated(std::unique_ptr<Job> job) {
  Retain();
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    dedicated_running_++;
  }
  Job* raw = job.release();
  std::thread([this, raw] {
    EnterComputeThread("jetserve-load");
    std::unique_ptr<Job> owned(raw);
    owned->Execute();
    Finished(std::move(owned));
    std::lock_guard<std::mutex> lock(done_mutex_);
    dedicated_running_--;
    dedicated_cv_.notify_all();
  }).detach();
}

void Executor::WorkerLoop() {
  EnterComputeThread("jetserve-run");
  for (;;) {
    std::unique_ptr<Job> job;
    SpinForWork();
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    job->Execute();
    Finished(std::move(job));
  }
}

// A caller awaiting runs one after another submits the next run a few microseconds after the
// previous completes. One worker at a time polls briefly before sleeping on the condition
// variable, which saves the futex wake-up on that path; the poll is bounded so an idle
// executor costs no CPU. When polls keep finding nothing (a server whose next batch comes
// hundreds of microseconds later), they only burn a core the JS thread needs: after a few misses
// in a row the next polls are skipped, and polling is retried after that.
void Executor::SpinForWork() {
  if (spin_micros_ == 0) return;
  if (spin_skips_.load(std::memory_order_relaxed) > 0) {
    spin_skips_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  bool expected = false;
  if (!spinner_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_micros_);
  int polls = 0;
  bool found = true;
  while (queued_.load(std::memory_order_acquire) == 0) {
    if ((++polls & 63) == 0 && std::chrono::steady_clock::now() > deadline) {
      found = false;
      break;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  if (found) {
    spin_misses_.store(0, std::memory_order_relaxed);
  } else if (spin_misses_.fetch_add(1, std::memory_order_relaxed) + 1 >= kSpinMissLimit) {
    spin_misses_.store(0, std::memory_order_relaxed);
    spin_skips_.store(kSpinSkip, std::memory_order_relaxed);
  }
  spinner_.store(false, std::memory_order_release);
}

void Executor::Finished(std::unique_ptr<Job> job) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    was_empty = done_.empty();
    done_.push_back(std::move(job));
  }
  // One wake-up per batch of completions: the JS side drains everything queued so far. (tsfn_ is
  // only released by Stop() after every thread that can get here has been joined.)
  if (was_empty) napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
}

void Executor::CallJs(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // environment shutting down
  static_cast<Executor*>(context)->Drain(Napi::Env(env));
}

void Executor::Drain(Napi::Env env) {
  std::vector<std::unique_ptr<Job>> batch;
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    batch.swap(done_);
  }
  for (auto& job : batch) {
    Napi::HandleScope scope(env);
    try {
      job->Complete(env);
    } catch (const Napi::Error& error) {
      // Complete() settles its own promise; an exception here must not lose the other jobs.
      fprintf(stderr, "jetserve: completion failed: %s\n", error.Message().c_str());
    }
    job.reset();
    Release();
  }
}

void Executor::Retain() {
  if (outstanding_++ == 0 && tsfn_ != nullptr) napi_ref_threadsafe_function(env_, tsfn_);
}

void Executor::Release() {
  if (--outstanding_ == 0 && tsfn_ != nullptr) napi_unref_threadsafe_function(env_, tsfn_);
}

}  // namespace jetserve
