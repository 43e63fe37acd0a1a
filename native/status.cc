#include "status.h"

namespace jetserve {

Napi::Error MakeError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  error.Value().Set("code", Napi::Number::New(env, failure.code));
  return error;
}

}  // namespace jetserve
