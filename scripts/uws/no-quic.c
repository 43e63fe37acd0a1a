/* The us_quic_* API of uSockets for a build without HTTP/3 (no lsquic, no BoringSSL).
 * uWebSockets.js compiles its H3App unconditionally; jetserve never creates one. Every entry
 * point here reports that and aborts, so an H3App can never run on a half-initialised context.
 * Declared without parameters: none returns, so the callers' argument lists do not matter. */
#include <stdio.h>
#include <stdlib.h>

#define JETSERVE_NO_QUIC(name)                                                                  \
  void name(void) {                                                                             \
    fputs("uWebSockets.js (jetserve's build): " #name ": built without HTTP/3 (H3App)\n", stderr); \
    abort();                                                                                    \
  }

JETSERVE_NO_QUIC(us_create_quic_socket_context)
JETSERVE_NO_QUIC(us_quic_socket_context)
JETSERVE_NO_QUIC(us_quic_socket_context_ext)
JETSERVE_NO_QUIC(us_quic_socket_context_get_header)
JETSERVE_NO_QUIC(us_quic_socket_context_set_header)
JETSERVE_NO_QUIC(us_quic_socket_context_send_headers)
JETSERVE_NO_QUIC(us_quic_socket_context_listen)
JETSERVE_NO_QUIC(us_quic_socket_context_connect)
JETSERVE_NO_QUIC(us_quic_socket_context_on_close)
JETSERVE_NO_QUIC(us_quic_socket_context_on_open)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_close)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_data)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_end)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_headers)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_open)
JETSERVE_NO_QUIC(us_quic_socket_context_on_stream_writable)
JETSERVE_NO_QUIC(us_quic_socket_create_stream)
JETSERVE_NO_QUIC(us_quic_stream_close)
JETSERVE_NO_QUIC(us_quic_stream_ext)
JETSERVE_NO_QUIC(us_quic_stream_is_client)
JETSERVE_NO_QUIC(us_quic_stream_shutdown)
JETSERVE_NO_QUIC(us_quic_stream_shutdown_read)
JETSERVE_NO_QUIC(us_quic_stream_socket)
JETSERVE_NO_QUIC(us_quic_stream_write)
