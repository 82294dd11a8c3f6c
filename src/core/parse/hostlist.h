// Slurm hostlist expressions ("nid[001-004,010],gpu[1-2]-[1-2]"), stage: detect.
//
// The list is parsed into ranges and never expanded as a whole: size(), at(i)
// and Find(name) work on the ranges, so a rank of a 100,000-node job does
// O(length of the expression) work, not O(nodes) string building.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

class Hostlist {
 public:
  // Parses the Slurm grammar: items separated by ',' (outside brackets) or
  // whitespace; an item is literal text with any number of bracket groups
  // "[a,b-c]"; each number is zero-padded to the width of the range's low
  // bound as written; text after the last ']' is kept (Slurm >= 23.02.5).
  // Rejects unbalanced or nested brackets, reversed or empty ranges,
  // letters inside brackets and empty items, with the offset of the fault.
  // Bounded: more than kMaxHosts hosts, a host name longer than
  // kMaxNameLength or a list whose expansion exceeds 1 GiB is refused, so
  // every accepted list can be expanded.
  static Parsed<Hostlist> Parse(std::string_view text);

  static constexpr std::uint64_t kMaxHosts = std::uint64_t{1} << 24;
  static constexpr std::uint64_t kMaxNameLength = 253;

  std::uint64_t size() const { return size_; }
  // The i-th host (0-based) in list order. Requires i < size().
  std::string at(std::uint64_t i) const;
  // The position of `host` in the list, or nullopt. Compares whole names.
  std::optional<std::uint64_t> Find(std::string_view host) const;
  // Every host, in order. For tests and small lists only.
  std::vector<std::string> Expand() const;
  // Appends every host, in order, each followed by `sep`, to `out`: the
  // whole list as text without a string per host.
  void AppendAll(std::string& out, char sep) const;

 private:
  struct Range {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    int width = 0;
  };
  struct Group {
    std::vector<Range> ranges;
    std::uint64_t count = 0;
    std::uint64_t width = 0;  // the widest number it writes
  };
  struct Item {
    std::vector<std::string> literals;  // groups.size() + 1 pieces of text
    std::vector<Group> groups;
    std::uint64_t count = 1;
    std::uint64_t name_length = 0;  // the longest name it expands to
  };
  static Parsed<Item> ParseItem(std::string_view text, std::size_t offset);
  // One bracket body "001-004,010" (at `offset` in the list).
  static Parsed<Group> ParseGroup(std::string_view body, std::size_t offset);
  static Parsed<Range> ParseRange(std::string_view part, std::size_t offset);
  static std::string ItemAt(const Item& item, std::uint64_t index);

  std::vector<Item> items_;
  std::vector<std::uint64_t> starts_;  // first list index of each item
  std::uint64_t size_ = 0;
};

// Checks that `name` can be a host name or an IP address (MASTER_ADDR):
// 1-253 characters (a DNS name), each a letter, digit, '.', '-', '_' or
// ':' (IPv6). Returns where and why it cannot.
Parsed<Ok> CheckHostName(std::string_view name);

// The inverse of Hostlist::Expand: a Slurm hostlist expression for `hosts`,
// in their order. Adjacent hosts with the same prefix share one bracket
// group; consecutive numbers of the same width become ranges
// ("nid001 nid002 nid003 nid010" -> "nid[001-003,010]").
// Hostlist::Parse(Compress(h)).Expand() == h for every list of host names
// without '[', ']', ',' or spaces.
std::string Compress(const std::vector<std::string>& hosts);

}  // namespace rankwrap::parse
