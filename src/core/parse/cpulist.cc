#include "core/parse/cpulist.h"

#include <string>

#include "core/parse/number.h"

namespace rankwrap::parse {
namespace {

// The grammar is srun's (srun(1), --cpu-bind; the expansion of "ID*N" is
// _expand_mult in Slurm's src/common/slurm_resource_info.c): map_cpu IDs are
// decimal "unless they are preceded with '0x'", mask_cpu masks are "always
// interpreted as hexadecimal values but can be preceded with an optional
// '0x'", and "the lists may follow a map with an asterisk and repetition
// count", "map_cpu:0*4,3*4". Where srun is lenient rankwrap is not: srun
// skips empty items (strtok) and binds a zero mask to every allowed CPU;
// here both are errors, so a typo never becomes a different binding.

std::string Item(std::size_t number, std::string_view text) {
  return "item " + std::to_string(number) + " '" + std::string(text) + "'";
}

bool HexPrefix(std::string_view s) { return s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'); }

// A map_cpu ID: one CPU.
Parsed<std::vector<unsigned>> MapId(std::string_view id) {
  const bool hex = HexPrefix(id);
  auto n = hex ? Hex(id.substr(2), kMaxCpuId) : Decimal(id, kMaxCpuId);
  if (!n) {
    const std::string expected =
        hex ? "expected hexadecimal digits after 0x" : "expected a CPU number (decimal, or hexadecimal after 0x)";
    return ParseError{n.error().pos + (hex ? 2 : 0), n.error().message + "; " + expected};
  }
  return std::vector<unsigned>{static_cast<unsigned>(*n)};
}

// A mask_cpu mask: bit i (from the right) is CPU i.
Parsed<std::vector<unsigned>> Mask(std::string_view mask) {
  const std::size_t skip = HexPrefix(mask) ? 2 : 0;
  const std::string_view digits = mask.substr(skip);
  if (digits.empty()) return ParseError{skip, "expected hexadecimal digits" + std::string(skip ? " after 0x" : "")};
  std::vector<unsigned> cpus;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    const std::size_t at = digits.size() - 1 - k;  // k-th digit from the right
    auto d = Hex(digits.substr(at, 1), 15);
    if (!d) return ParseError{skip + at, d.error().message + "; a mask is hexadecimal, with or without 0x"};
    for (unsigned b = 0; b < 4; ++b) {
      if (!(*d & (1u << b))) continue;
      const std::uint64_t cpu = 4 * static_cast<std::uint64_t>(k) + b;
      if (cpu > kMaxCpuId) {
        return ParseError{skip + at, "sets CPU " + std::to_string(cpu) + ", above " + std::to_string(kMaxCpuId)};
      }
      cpus.push_back(static_cast<unsigned>(cpu));
    }
  }
  if (cpus.empty()) return ParseError{0, "the mask selects no CPU"};
  return cpus;
}

}  // namespace

Parsed<std::vector<CpuListItem>> CpuList(std::string_view list, CpuListForm form) {
  if (list.empty()) {
    return ParseError{0, form == CpuListForm::kMap ? "empty list, expected map_cpu:ID,ID,..."
                                                   : "empty list, expected mask_cpu:MASK,MASK,..."};
  }
  std::vector<CpuListItem> out;
  std::size_t start = 0;
  for (std::size_t number = 1;; ++number) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view item = list.substr(start, comma - start);
    if (item.empty()) return ParseError{start, "item " + std::to_string(number) + " is empty"};
    const std::size_t star = item.find('*');
    const std::string_view value = item.substr(0, star);
    if (value.empty()) return ParseError{start, Item(number, item) + ": no CPU before '*'"};
    auto cpus = form == CpuListForm::kMap ? MapId(value) : Mask(value);
    if (!cpus) return ParseError{start + cpus.error().pos, Item(number, item) + ": " + cpus.error().message};
    CpuListItem parsed{std::move(*cpus), 1};
    if (star != std::string_view::npos) {
      auto n = Decimal(item.substr(star + 1), kMaxCpuRepeat);
      if (!n || *n == 0) {
        return ParseError{start + star + 1 + (n ? 0 : n.error().pos),
                          Item(number, item) + ": expected a repeat count 1-" + std::to_string(kMaxCpuRepeat) +
                              " after '*'" + (n ? "" : " (" + n.error().message + ")")};
      }
      parsed.repeat = static_cast<std::uint32_t>(*n);
    }
    out.push_back(std::move(parsed));
    if (comma == list.size()) break;
    start = comma + 1;
  }
  return out;
}

const CpuListItem& CpuListAt(const std::vector<CpuListItem>& items, std::uint64_t rank) {
  std::uint64_t total = 0;
  for (const CpuListItem& i : items) total += i.repeat;
  if (total == 0) return items.front();  // ParseCpuList never gives this (repeats are >= 1)
  std::uint64_t at = rank % total;
  for (const CpuListItem& i : items) {
    if (at < i.repeat) return i;
    at -= i.repeat;
  }
  return items.back();  // not reached: at < total
}

}  // namespace rankwrap::parse
