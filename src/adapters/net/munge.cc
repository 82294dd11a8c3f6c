#include "adapters/net/munge.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#if RANKWRAP_WITH_MUNGE_H
#include <munge.h>
#else
// The few declarations used, as libmunge 0.5 defines them.
typedef struct munge_ctx* munge_ctx_t;
typedef int munge_err_t;
enum { EMUNGE_SUCCESS = 0, MUNGE_OPT_SOCKET = 8, MUNGE_OPT_UID_RESTRICTION = 9 };
#endif

namespace rankwrap::net {
namespace {

struct Lib {
  bool ok = false;
  munge_ctx_t (*ctx_create)() = nullptr;
  void (*ctx_destroy)(munge_ctx_t) = nullptr;
  munge_err_t (*ctx_set)(munge_ctx_t, int, ...) = nullptr;
  const char* (*ctx_strerror)(munge_ctx_t) = nullptr;
  munge_err_t (*encode)(char**, munge_ctx_t, const void*, int) = nullptr;
  munge_err_t (*decode)(const char*, munge_ctx_t, void**, int*, uid_t*, gid_t*) = nullptr;
  const char* (*strerror)(munge_err_t) = nullptr;
};

const Lib& Load() {
  static Lib lib;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen("libmunge.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return;
    auto sym = [&](auto& f, const char* name) {
      f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(dlsym(h, name));
      return f != nullptr;
    };
    lib.ok = sym(lib.ctx_create, "munge_ctx_create") && sym(lib.ctx_destroy, "munge_ctx_destroy") &&
             sym(lib.ctx_set, "munge_ctx_set") && sym(lib.ctx_strerror, "munge_ctx_strerror") &&
             sym(lib.encode, "munge_encode") && sym(lib.decode, "munge_decode") && sym(lib.strerror, "munge_strerror");
  });
  return lib;
}

// A context on `socket` (munge's default when empty); nullptr on failure.
struct Ctx {
  explicit Ctx(const Lib& l, const std::string& socket) : lib(l), ctx(l.ctx_create()) {
    if (ctx != nullptr && !socket.empty() && lib.ctx_set(ctx, MUNGE_OPT_SOCKET, socket.c_str()) != EMUNGE_SUCCESS) {
      lib.ctx_destroy(ctx);
      ctx = nullptr;
    }
  }
  ~Ctx() {
    if (ctx != nullptr) lib.ctx_destroy(ctx);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  std::string Why(munge_err_t e) const {
    const char* s = ctx != nullptr ? lib.ctx_strerror(ctx) : nullptr;
    return s != nullptr ? s : lib.strerror(e);
  }
  const Lib& lib;
  munge_ctx_t ctx;
};

}  // namespace

Result<std::string, plane::Refusal> MungeEncode(const std::string& socket, std::string_view payload) {
  const Lib& lib = Load();
  if (!lib.ok) return plane::Refusal{"libmunge.so.2 not found"};
  Ctx c(lib, socket);
  if (c.ctx == nullptr) return plane::Refusal{"cannot create a MUNGE context"};
  // Only this uid may decode it: the session key inside stays the job's.
  if (lib.ctx_set(c.ctx, MUNGE_OPT_UID_RESTRICTION, static_cast<uid_t>(getuid())) != EMUNGE_SUCCESS) {
    return plane::Refusal{"cannot restrict the credential to this uid"};
  }
  char* cred = nullptr;
  const munge_err_t e = lib.encode(&cred, c.ctx, payload.data(), static_cast<int>(payload.size()));
  if (e != EMUNGE_SUCCESS) return plane::Refusal{c.Why(e)};
  std::string s(cred);
  std::free(cred);
  return s;
}

Result<std::string, plane::Refusal> MungeDecode(const std::string& socket, std::string_view credential) {
  const Lib& lib = Load();
  if (!lib.ok) return plane::Refusal{"libmunge.so.2 not found"};
  Ctx c(lib, socket);
  if (c.ctx == nullptr) return plane::Refusal{"cannot create a MUNGE context"};
  const std::string cred(credential);  // NUL-terminated
  void* buf = nullptr;
  int len = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  const munge_err_t e = lib.decode(cred.c_str(), c.ctx, &buf, &len, &uid, &gid);
  std::string payload = buf != nullptr ? std::string(static_cast<const char*>(buf), static_cast<std::size_t>(len)) : "";
  std::free(buf);
  // Replayed, expired, rewound or invalid credentials are errors here.
  if (e != EMUNGE_SUCCESS) return plane::Refusal{c.Why(e)};
  if (uid != getuid()) {
    return plane::Refusal{"made by uid " + std::to_string(uid) + ", the job runs as uid " + std::to_string(getuid())};
  }
  return payload;
}

bool MungeAvailable(const std::string& socket) {
  auto cred = MungeEncode(socket, "rankwrap-probe");
  return cred && MungeDecode(socket, *cred).ok();
}

}  // namespace rankwrap::net
