// Errors as values. Every stage returns Result<T>; only main prints an Error
// and turns its exit code into the process status. Nothing below main exits.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace rankwrap {

// Exit codes, documented in docs/exit-codes.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,             // bad command line
  kExitEnvironment = 3,       // launcher environment not understood or inconsistent
  kExitBinding = 4,           // binding cannot be planned or applied
  kExitBootstrap = 5,         // bootstrap failed: the job is inconsistent, or NCCL/MPI unusable
  kExitBootstrapTimeout = 6,  // bootstrap: a rank waited past --bootstrap-timeout
  kExitSystem = 7,            // rankwrap could not create a process, pipe or file it needs (a system limit)
  kExitPreflight = 8,         // --preflight / `rankwrap preflight`: a node failed a check (the table names it)
  kExitNotExecutable = 126,
  kExitNotFound = 127,
};

// One error, printed by main as
//   rankwrap[RANK@HOST]: error: STAGE: WHAT: WHY
//   hint: HINT
struct Error {
  int exit_code = kExitEnvironment;
  std::string stage;   // "usage", "detect", "plan", "bind", "exec", ...
  std::string what;    // the thing that is wrong, naming the variable/file and value
  std::string why;     // what was expected instead
  std::string hint;    // one concrete fix
  bool quiet = false;  // already reported once for the whole job (rank 0's table): not printed again
};

// What a parser reports: where in its input it stopped and why. The caller
// knows which variable or file the input came from and turns this into an
// Error that names them.
struct ParseError {
  std::size_t pos = 0;
  std::string message;
};

// A value or an error. Small on purpose: C++20 has no std::expected.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> v_;
};

// Result for stages that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

template <class T>
using Parsed = Result<T, ParseError>;

}  // namespace rankwrap
