// unique_ptr owners for every TF C API object the addon creates, so each has exactly one owner
// and every error path frees what it allocated.
#pragma once

#include <tensorflow/c/c_api.h>

#include <memory>

namespace jetserve {

struct GraphDeleter {
  void operator()(TF_Graph* g) const { TF_DeleteGraph(g); }
};
struct SessionOptionsDeleter {
  void operator()(TF_SessionOptions* o) const { TF_DeleteSessionOptions(o); }
};
struct BufferDeleter {
  void operator()(TF_Buffer* b) const { TF_DeleteBuffer(b); }
};
struct ImportOptionsDeleter {
  void operator()(TF_ImportGraphDefOptions* o) const { TF_DeleteImportGraphDefOptions(o); }
};
struct DeviceListDeleter {
  void operator()(TF_DeviceList* d) const { TF_DeleteDeviceList(d); }
};

using GraphPtr = std::unique_ptr<TF_Graph, GraphDeleter>;
using SessionOptionsPtr = std::unique_ptr<TF_SessionOptions, SessionOptionsDeleter>;
using BufferPtr = std::unique_ptr<TF_Buffer, BufferDeleter>;
using ImportOptionsPtr = std::unique_ptr<TF_ImportGraphDefOptions, ImportOptionsDeleter>;
using DeviceListPtr = std::unique_ptr<TF_DeviceList, DeviceListDeleter>;

}  // namespace jetserve
