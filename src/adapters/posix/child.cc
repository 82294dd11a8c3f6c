#include "adapters/posix/child.h"

#include <string.h>

namespace rankwrap::posix {

std::string SignalName(int sig) {
  // glibc's own table (2.32+): every signal this kernel has, by its name.
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

}  // namespace rankwrap::posix
