// The native executor: a fixed pool of threads that run TF work (session runs), plus a
// completion queue drained on the JS thread through one thread-safe function. TF calls never run
// on the JS thread and never occupy libuv's shared pool (which fs/dns also use).
//
// A Job does its TF work in Execute() on a pool thread (no N-API there) and settles its promise in
// Complete() on the JS thread. Loads and closes run on their own short-lived threads so a slow
// model load never blocks inference.
//
// Teardown: Stop() refuses new work, waits for every job already executing (a thread inside
// TF_SessionRun or a load finishes it), drops queued and uncompleted jobs, and releases the
// thread-safe function. It runs from an env cleanup hook (worker termination, the end of the main
// thread) registered after the thread-safe function, so it runs before Node closes that function
// and before the addon's finalizers delete the sessions; and from the addon's shutdown() export,
// which the JS layer calls on process 'exit' (process.exit() and uncaught exceptions run no cleanup
// hooks, and C exit() then destroys TF's static state under any thread still running).
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace jetserve {

class Job {
 public:
  virtual ~Job() = default;
  virtual void Execute() = 0;                // pool thread
  virtual void Complete(Napi::Env env) = 0;  // JS thread
};

class Executor {
 public:
  Executor(Napi::Env env, size_t threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // JS thread only, and never after Stop() (AddonData::RunningExecutor() is null then).
  void Submit(std::unique_ptr<Job> job);
  // Runs the job on a thread of its own (model loads, session close).
  void SubmitDedicated(std::unique_ptr<Job> job);
  size_t thread_count() const { return threads_.size(); }
  // JS thread (or its env cleanup). Idempotent.
  void Stop();
  bool stopped() const { return stopped_; }

 private:
  void WorkerLoop();
  void SpinForWork();
  // Default poll before sleeping; JETSERVE_EXECUTOR_SPIN_US overrides it (0 = never spin).
  static constexpr int kSpinMicros = 50;
  int spin_micros_ = kSpinMicros;
  // Back-off: after kSpinMissLimit polls in a row found no work, the next kSpinSkip are skipped.
  static constexpr int kSpinMissLimit = 4;
  static constexpr int kSpinSkip = 64;
  std::atomic<int> spin_misses_{0};
  std::atomic<int> spin_skips_{0};
  void Finished(std::unique_ptr<Job> job);  // any thread
  void Drain(Napi::Env env);                // JS thread
  void Retain();                            // JS thread: keep the loop alive while jobs are out
  void Release();
  static void CallJs(napi_env env, napi_value, void* context, void*);
  static void OnEnvCleanup(void* executor);

  std::vector<std::thread> threads_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;  // guarded by queue_mutex_ (read by pool threads)
  bool stopped_ = false;   // JS thread
  bool cleanup_hook_ = false;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> spinner_{false};

  std::mutex done_mutex_;
  std::vector<std::unique_ptr<Job>> done_;
  std::condition_variable dedicated_cv_;
  size_t dedicated_running_ = 0;

  napi_threadsafe_function tsfn_ = nullptr;
  size_t outstanding_ = 0;  // JS thread only
  napi_env env_;
};

}  // namespace jetserve
