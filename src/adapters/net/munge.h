// MUNGE credentials for the control plane (stage: plane). libmunge.so.2 is
// dlopen'ed on first use, so one rankwrap binary runs on nodes without
// munge; munge.h is included here only.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/plane/message.h"

namespace rankwrap::net {

// True when libmunge loads and munged answers (a credential round-trips).
// `socket`: MUNGE_SOCKET, empty for munge's default.
bool MungeAvailable(const std::string& socket);

// A credential carrying `payload`, decodable only by this process's uid.
Result<std::string, plane::Refusal> MungeEncode(const std::string& socket, std::string_view payload);
// The payload of `credential` when it is valid, not replayed, and was made by
// this process's uid; otherwise why not.
Result<std::string, plane::Refusal> MungeDecode(const std::string& socket, std::string_view credential);

}  // namespace rankwrap::net
