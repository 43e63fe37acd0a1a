// The run buffer: one ArrayBuffer per JS environment, registered by src/engine/run-io.ts, through
// which a run's small, fixed-size facts cross between JS and the addon as plain memory instead of
// JS values read and created through N-API (each a call into V8; creating a shape array and an
// ArrayBuffer per output cost more than the copy they carry).
//
// Layout: `head` (float64 slots) then `data` (bytes, 16-byte aligned).
//   JS → addon, before run():  slot, placement, input count n, output count m,
//                              n × [endpoint, dtype, rank, dims…], m × endpoint
//   addon → JS, after an inline run that returned undefined:
//                              m × [dtype, rank, byte offset into data, byte length, dims…],
//                              each output's bytes at its offset in `data`
// run() reads the head before anything else can run JS, and JS reads the outputs right after
// run() returns, so one buffer per thread serves every session.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace jetserve {

struct RunIo {
  Napi::Reference<Napi::ArrayBuffer> buffer;  // keeps the registered buffer alive
  double* head = nullptr;
  size_t head_slots = 0;
  uint8_t* data = nullptr;
  size_t data_bytes = 0;
};

// setRunIo(buffer: ArrayBuffer, headBytes: number): registers this environment's run buffer.
Napi::Value SetRunIo(const Napi::CallbackInfo& info);

}  // namespace jetserve
