// The scheduling class of the threads that run TF work off the JS thread: the executor's pool,
// load/close threads, and — inherited from the load thread that creates the first session — TF's
// own intra-op pool. On a machine whose cores a heavy model keeps busy, the JS thread waking for
// its next callback otherwise waits for the scheduler to preempt one of those threads, and the
// event loop's delay grows by up to a scheduler slice per wake-up (src/engine/README.md, "The event
// loop under a mixed load"). Under SCHED_IDLE, the kernel preempts them for the JS thread (or any
// other normal thread) at once; they still get every cycle nothing else wants — but a busy
// process elsewhere on the machine starves them, so it is opt-in.
//
// JETSERVE_COMPUTE_PRIORITY: unset or "normal" (the default: left as created), "idle"
// (SCHED_IDLE), or a nice value 1..19.
#pragma once

namespace jetserve {

// Applies the configured class to the calling thread and names it `name` (≤ 15 characters, shown
// by top -H and /proc/<pid>/task/<tid>/comm). Called first by every thread jetserve starts.
void EnterComputeThread(const char* name);

}  // namespace jetserve
