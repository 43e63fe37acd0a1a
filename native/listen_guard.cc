// Lets a server close a TCP listener without resetting a connection a client already has.
//
// Closing a listening socket resets (RST) every connection still in its accept queue: the client
// finished its handshake, sent its request, and reads ECONNRESET. Under steady traffic the queue is
// rarely empty, and nothing in Node or uWebSockets.js stops the kernel from completing new
// handshakes while it is drained. So before the close, the listener gets a classic BPF socket
// filter that drops SYN segments (SYN without ACK): no new handshake starts — the client's SYN is
// retransmitted and meets the closed port, ECONNREFUSED — while handshakes in progress complete and
// queued connections are accepted and answered as usual. The server then waits for the accept
// queue to empty (TCP_INFO's tcpi_unacked is the queue length of a listener) and closes.
//
// The listeners are found by port among the process's open descriptors (the HTTP engine does not
// expose its descriptor). Linux only; elsewhere both functions report that they did nothing (-1).

#include "listen_guard.h"

#if defined(__linux__)
#include <dirent.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>
#endif

namespace jetserve {
namespace {

#if defined(__linux__)
/** Descriptors of this process's TCP sockets listening on `port` (IPv4 and IPv6). */
std::vector<int> ListenersOnPort(int port) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int self = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == self) continue;
    int accepting = 0;
    socklen_t len = sizeof(accepting);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || accepting != 1) continue;
    int type = 0;
    len = sizeof(type);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage addr{};
    len = sizeof(addr);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) fds.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  return fds;
}

/** Drops TCP segments with SYN set and ACK clear; passes everything else whole. */
int AttachSynDropFilter(int fd) {
  // a TCP socket's filter sees the segment from its TCP header: byte 13 holds the flags
  static sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),          // SYN | ACK
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),    // SYN alone?
      BPF_STMT(BPF_RET | BPF_K, 0),                       // drop
      BPF_STMT(BPF_RET | BPF_K, 0x7fffffff),              // keep the whole segment
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program));
}
#endif

int PortArgument(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) return -1;
  const int64_t port = info[0].As<Napi::Number>().Int64Value();
  return port > 0 && port <= 65535 ? static_cast<int>(port) : -1;
}

/** holdListenSockets(port): listeners that now refuse new handshakes (-1: not supported here). */
Napi::Value HoldListenSockets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int port = PortArgument(info);
  if (port < 0) NAPI_THROW(Napi::RangeError::New(env, "holdListenSockets(port): port must be 1..65535"), Napi::Value());
#if defined(__linux__)
  int held = 0;
  for (int fd : ListenersOnPort(port)) {
    if (AttachSynDropFilter(fd) == 0) held++;
  }
  return Napi::Number::New(env, held);
#else
  return Napi::Number::New(env, -1);
#endif
}

/** listenQueueLength(port): connections waiting in the listeners' accept queues (-1: unknown). */
Napi::Value ListenQueueLength(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int port = PortArgument(info);
  if (port < 0) NAPI_THROW(Napi::RangeError::New(env, "listenQueueLength(port): port must be 1..65535"), Napi::Value());
#if defined(__linux__)
  int64_t queued = 0;
  for (int fd : ListenersOnPort(port)) {
    tcp_info ti{};
    socklen_t len = sizeof(ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return Napi::Number::New(env, -1);
    queued += ti.tcpi_unacked;  // for a listener: its accept queue length
  }
  return Napi::Number::New(env, static_cast<double>(queued));
#else
  return Napi::Number::New(env, -1);
#endif
}

}  // namespace

void RegisterListenGuard(Napi::Env env, Napi::Object exports) {
  exports.Set("holdListenSockets", Napi::Function::New<HoldListenSockets>(env, "holdListenSockets"));
  exports.Set("listenQueueLength", Napi::Function::New<ListenQueueLength>(env, "listenQueueLength"));
}

}  // namespace jetserve
