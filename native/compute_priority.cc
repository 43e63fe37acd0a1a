#include "compute_priority.h"

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace jetserve {

namespace {

struct Priority {
  bool idle = false;
  int nice = 0;
};

Priority Configured() {
  Priority priority;
  const char* value = std::getenv("JETSERVE_COMPUTE_PRIORITY");
  if (value == nullptr || std::strcmp(value, "normal") == 0) return priority;
  if (std::strcmp(value, "idle") == 0) {
    priority.idle = true;
    return priority;
  }
  char* end = nullptr;
  const long nice = std::strtol(value, &end, 10);
  if (end != value && *end == '\0' && nice >= 1 && nice <= 19) {
    priority.nice = static_cast<int>(nice);
  }  // anything else: the default, threads as created
  return priority;
}

}  // namespace

void EnterComputeThread(const char* name) {
#if defined(__linux__)
  static const Priority priority = Configured();
  pthread_setname_np(pthread_self(), name);
  if (priority.idle) {
    sched_param param{};
    param.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);  // best effort: a refusal keeps the default class
  } else if (priority.nice > 0) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), priority.nice);
  }
#else
  (void)name;
#endif
}

}  // namespace jetserve
