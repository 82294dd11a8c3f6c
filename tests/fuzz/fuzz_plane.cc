// Fuzzes the control plane's decoder (core/plane/message.h): any bytes, in
// every auth mode. A decoded message must re-encode to exactly the bytes it
// came from (one encoding per message), a refusal must point inside the
// input, and the server and client state machines must take the bytes
// without crashing, whatever state they are in.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/plane/auth.h"
#include "core/plane/client.h"
#include "core/plane/server.h"

using namespace rankwrap::plane;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (AuthMode mode : {AuthMode::kInsecure, AuthMode::kSecret, AuthMode::kMunge}) {
    auto d = DecodeBody(body, mode);
    if (!d) {
      if (d.error().pos > size || d.error().message.empty()) std::abort();
      continue;
    }
    if (EncodeBody(d->message, d->seq) != d->signed_part) std::abort();
    if (d->signed_part.size() + d->tag.size() != size) std::abort();
  }
  if (size >= 4) (void)FrameLength(data);
  // The server: as a stranger's first message, and then again.
  ServerOptions so;
  so.job_id = "fuzz.0";
  so.node_count = 4;
  so.secret = "fuzz-secret-0123456789";
  ServerCore server(so);
  Outbox out;
  server.OnConnect(1, Nonce{}, 0, out);
  server.OnFrame(1, body, 0, out);
  server.OnFrame(1, body, 0, out);
  server.OnTick(100, 0, out);
  // The client: as the server's challenge, then as its welcome.
  ClientCore client(ClientOptions{"fuzz.0", 1, 4, "h", 4, AuthMode::kSecret, "fuzz-secret-0123456789"}, Nonce{}, "");
  ClientOut co;
  client.OnFrame(body, co);
  client.OnFrame(body, co);
  return 0;
}
