// Test helper: expands each Slurm hostlist read from stdin (one per line) and
// prints its hosts space-separated on one line, or "error: MESSAGE". Used by
// integration/hostlist_oracle.sh to compare with `scontrol show hostnames`.
#include <iostream>
#include <string>

#include "core/parse/hostlist.h"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto list = rankwrap::parse::Hostlist::Parse(line);
    if (!list) {
      std::cout << "error: " << list.error().message << "\n";
      continue;
    }
    std::string out;
    for (const auto& h : list->Expand()) out += (out.empty() ? "" : " ") + h;
    std::cout << out << "\n";
  }
  return 0;
}
