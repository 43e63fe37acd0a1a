// TF_Status handling: an RAII owner for TF_Status, and Failure — a (TF_Code, message) pair that
// travels as plain data from native threads to the JS thread, where it becomes a JS Error with a
// numeric `code` property (the TS layer turns that into a typed JetserveError).
#pragma once

#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <memory>
#include <string>

namespace jetserve {

struct StatusDeleter {
  void operator()(TF_Status* s) const { TF_DeleteStatus(s); }
};
using StatusPtr = std::unique_ptr<TF_Status, StatusDeleter>;

inline StatusPtr NewStatus() { return StatusPtr(TF_NewStatus()); }

struct Failure {
  int code = TF_OK;
  std::string message;

  bool ok() const { return code == TF_OK; }
  static Failure From(const TF_Status* status) {
    return Failure{static_cast<int>(TF_GetCode(status)), TF_Message(status)};
  }
  static Failure Invalid(std::string message) { return Failure{TF_INVALID_ARGUMENT, std::move(message)}; }
};

// A JS Error with `code` (TF_Code number, same numbering as gRPC) and TF's message.
Napi::Error MakeError(Napi::Env env, const Failure& failure);

}  // namespace jetserve
