// Listen-socket guard for lossless shutdown (listen_guard.cc).
#pragma once
#include <napi.h>

namespace jetserve {
/** Adds holdListenSockets(port) and listenQueueLength(port) to the exports. */
void RegisterListenGuard(Napi::Env env, Napi::Object exports);
}  // namespace jetserve
