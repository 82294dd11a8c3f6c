#include <cstdio>
#include <string>

#include <rankwrap/contract.h>

int main() {
  std::string error;
  auto c = rankwrap::ContractFromEnv(&error);
  if (!c) {
    std::fprintf(stderr, "uses_rankwrap: %s\n", error.c_str());
    return 1;
  }
  std::printf("outside project: rank %d of %d via %s\n", c->rank, c->world_size, c->launcher.c_str());
  return 0;
}
