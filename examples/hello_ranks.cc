// A small program that prints what one rank sees: the demo job in the README
// runs four of these under mpirun, each behind rankwrap.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace {
const char* Get(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "(unset)";
}
}  // namespace

int main() {
  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof host - 1);
  std::printf("rank %s/%s local %s/%s node %s/%s on %s -> master %s:%s (launcher %s)\n", Get("RANK"), Get("WORLD_SIZE"),
              Get("LOCAL_RANK"), Get("LOCAL_WORLD_SIZE"), Get("NODE_RANK"), Get("NUM_NODES"), host, Get("MASTER_ADDR"),
              Get("MASTER_PORT"), Get("RANKWRAP_LAUNCHER"));
  return 0;
}
