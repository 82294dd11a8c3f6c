// Test and benchmark helper.
//   rankwrap_hostlist_tool              each stdin line is a Slurm hostlist: print its
//                                       hosts space-separated, or "error: MESSAGE"
//   rankwrap_hostlist_tool --compress   each stdin line is hosts separated by spaces:
//                                       print rankwrap's hostlist expression for them
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/parse/hostlist.h"

int main(int argc, char** argv) {
  const bool compress = argc > 1 && std::string(argv[1]) == "--compress";
  std::string line;
  while (std::getline(std::cin, line)) {
    if (compress) {
      std::istringstream words(line);
      std::vector<std::string> hosts;
      for (std::string h; words >> h;) hosts.push_back(h);
      std::cout << rankwrap::parse::Compress(hosts) << "\n";
      continue;
    }
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
