#include "core/parse/hostlist.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/parse/number.h"

namespace rankwrap::parse {
namespace {

// Bounds on one list, so that expanding it (`rankwrap hostnames`, Expand,
// AppendAll) cannot exhaust memory: 'n[0-999999999999]' is refused at parse
// time instead of dying in std::bad_alloc. 2^24 hosts is 100 times the
// largest machine; a name is at most 253 characters (a DNS name); the whole
// expansion at most 1 GiB of text.
constexpr std::uint64_t kMaxHosts = Hostlist::kMaxHosts;
constexpr std::uint64_t kMaxName = Hostlist::kMaxNameLength;
constexpr std::uint64_t kMaxExpandedBytes = std::uint64_t{1} << 30;
// Widest number a range may have (fits in uint64 with room to spare).
constexpr std::size_t kMaxDigits = 18;

std::string TooMany() { return "more than " + std::to_string(kMaxHosts) + " hosts (the limit for one list)"; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Pad(std::uint64_t value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) {
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  }
  return digits;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Parsed<Hostlist::Range> Hostlist::ParseRange(std::string_view part, std::size_t offset) {
  if (Trim(part).empty()) return ParseError{offset, "empty range in brackets"};
  const std::size_t dash = part.find('-');
  // Slurm takes the width from the low bound as written, spaces included:
  // "[089, 100]" gives "0100" (checked against scontrol 22.05).
  const std::string_view lo_text = part.substr(0, dash);
  const std::string_view hi_text = dash == std::string_view::npos ? lo_text : part.substr(dash + 1);
  for (const std::string_view bound : {lo_text, hi_text}) {
    const std::string_view digits = Trim(bound);
    if (digits.empty()) return ParseError{offset, "range bound missing"};
    if (digits.size() > kMaxDigits) return ParseError{offset, "number with more than 18 digits"};
    for (char d : digits) {
      if (!std::isdigit(static_cast<unsigned char>(d))) {
        return ParseError{offset, std::string("'") + d + "' in a range: only decimal numbers are allowed in brackets"};
      }
    }
  }
  Range range;
  range.lo = Decimal(Trim(lo_text), UINT64_MAX).value();
  range.hi = Decimal(Trim(hi_text), UINT64_MAX).value();
  range.width = static_cast<int>(std::min(lo_text.size(), kMaxDigits + 2));
  if (range.hi < range.lo) {
    return ParseError{offset, "reversed range " + std::string(Trim(part)) + " (the high bound is below the low bound)"};
  }
  return range;
}

Parsed<Hostlist::Group> Hostlist::ParseGroup(std::string_view body, std::size_t offset) {
  Group group;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    auto range = ParseRange(body.substr(start, comma - start), offset + start);
    if (!range) return range.error();
    const std::uint64_t n = range->hi - range->lo + 1;
    if (n > kMaxHosts || group.count > kMaxHosts - n) return ParseError{offset + start, TooMany()};
    group.width = std::max<std::uint64_t>(group.width, std::max<std::uint64_t>(static_cast<std::uint64_t>(range->width),
                                                                               std::to_string(range->hi).size()));
    group.count += n;
    group.ranges.push_back(*range);
    start = comma + 1;
  }
  return group;
}

Parsed<Hostlist::Item> Hostlist::ParseItem(std::string_view text, std::size_t offset) {
  Item item;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ']') return ParseError{offset + i, "']' without a matching '['"};
    if (c != '[') {
      literal += c;
      ++i;
      continue;
    }
    const std::size_t close = text.find(']', i + 1);
    const std::size_t nested = text.find('[', i + 1);
    if (close == std::string_view::npos) return ParseError{offset + i, "'[' is never closed (unbalanced bracket)"};
    if (nested != std::string_view::npos && nested < close) {
      return ParseError{offset + nested, "'[' inside brackets (nested brackets)"};
    }
    const std::string_view body = text.substr(i + 1, close - i - 1);
    if (Trim(body).empty()) return ParseError{offset + i, "empty brackets '[]'"};
    auto group = ParseGroup(body, offset + i + 1);
    if (!group) return group.error();
    if (item.count > kMaxHosts / group->count) return ParseError{offset + i, TooMany()};
    item.count *= group->count;
    item.literals.push_back(std::move(literal));
    literal.clear();
    item.groups.push_back(std::move(group).value());
    i = close + 1;
  }
  item.literals.push_back(std::move(literal));
  for (const std::string& l : item.literals) item.name_length += l.size();
  for (const Group& g : item.groups) item.name_length += g.width;
  if (item.name_length > kMaxName) {
    return ParseError{offset, "host name of " + std::to_string(item.name_length) + " characters; expected at most " +
                                  std::to_string(kMaxName) + " (a DNS name)"};
  }
  return item;
}

Parsed<Hostlist> Hostlist::Parse(std::string_view text) {
  Hostlist list;
  std::uint64_t expanded = 0;  // bytes of the whole list, one separator per host
  std::size_t i = 0;
  bool expect_item = false;  // set after a comma: an item must follow
  while (true) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i == text.size()) {
      if (expect_item) return ParseError{i, "empty item after ','"};
      break;
    }
    if (text[i] == ',') return ParseError{i, "empty item before ','"};
    // An item runs to the first ',' or space outside brackets.
    std::size_t end = i;
    int depth = 0;
    while (end < text.size()) {
      const char c = text[end];
      if (c == '[') ++depth;
      if (c == ']') --depth;
      if (depth <= 0 && (c == ',' || IsSpace(c))) break;
      ++end;
    }
    auto item = ParseItem(text.substr(i, end - i), i);
    if (!item) return item.error();
    if (list.size_ > kMaxHosts - item->count) return ParseError{i, TooMany()};
    expanded += item->count * (item->name_length + 1);
    if (expanded > kMaxExpandedBytes) {
      return ParseError{i, "expands to more than " + std::to_string(kMaxExpandedBytes >> 20) +
                               " MiB of host names (the limit for one list)"};
    }
    list.starts_.push_back(list.size_);
    list.size_ += item->count;
    list.items_.push_back(std::move(item).value());
    i = end;
    while (i < text.size() && IsSpace(text[i])) ++i;
    expect_item = false;
    if (i < text.size() && text[i] == ',') {
      ++i;
      expect_item = true;
    }
  }
  if (list.size_ == 0) return ParseError{0, "empty host list"};
  return list;
}

std::string Hostlist::ItemAt(const Item& item, std::uint64_t index) {
  // Mixed radix: the first bracket group is the most significant digit, as
  // Slurm expands "rack[1-2]-node[01-03]" outer to inner.
  std::vector<std::uint64_t> digit(item.groups.size());
  for (std::size_t g = item.groups.size(); g-- > 0;) {
    digit[g] = index % item.groups[g].count;
    index /= item.groups[g].count;
  }
  std::string out = item.literals[0];
  for (std::size_t g = 0; g < item.groups.size(); ++g) {
    std::uint64_t k = digit[g];
    for (const Range& r : item.groups[g].ranges) {
      const std::uint64_t n = r.hi - r.lo + 1;
      if (k < n) {
        out += Pad(r.lo + k, r.width);
        break;
      }
      k -= n;
    }
    out += item.literals[g + 1];
  }
  return out;
}

std::string Hostlist::at(std::uint64_t i) const {
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), i) - 1;
  const auto idx = static_cast<std::size_t>(it - starts_.begin());
  return ItemAt(items_[idx], i - *it);
}

std::optional<std::uint64_t> Hostlist::Find(std::string_view host) const {
  for (std::size_t n = 0; n < items_.size(); ++n) {
    const Item& item = items_[n];
    if (item.groups.empty()) {
      if (item.literals[0] == host) return starts_[n];
      continue;
    }
    if (item.groups.size() == 1) {
      // Arithmetic match: prefix, digits, suffix; no expansion.
      const std::string& pre = item.literals[0];
      const std::string& post = item.literals[1];
      if (host.size() <= pre.size() + post.size() || host.substr(0, pre.size()) != pre ||
          host.substr(host.size() - post.size()) != post) {
        continue;
      }
      const std::string_view digits = host.substr(pre.size(), host.size() - pre.size() - post.size());
      auto value = Decimal(digits, UINT64_MAX);
      if (!value) continue;
      std::uint64_t offset = 0;
      for (const Range& r : item.groups[0].ranges) {
        if (*value >= r.lo && *value <= r.hi && Pad(*value, r.width) == digits) {
          return starts_[n] + offset + (*value - r.lo);
        }
        offset += r.hi - r.lo + 1;
      }
      continue;
    }
    for (std::uint64_t k = 0; k < item.count; ++k) {
      if (ItemAt(item, k) == host) return starts_[n] + k;
    }
  }
  return std::nullopt;
}

void Hostlist::AppendAll(std::string& out, char sep) const {
  for (const Item& item : items_) {
    if (item.groups.size() != 1) {
      for (std::uint64_t k = 0; k < item.count; ++k) {
        out += ItemAt(item, k);
        out += sep;
      }
      continue;
    }
    // One bracket group: write the numbers directly, padded to the width.
    for (const Range& r : item.groups[0].ranges) {
      for (std::uint64_t v = r.lo; v <= r.hi; ++v) {
        char digits[24];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
        const std::size_t n = static_cast<std::size_t>(end - digits);
        out += item.literals[0];
        if (static_cast<int>(n) < r.width) out.append(static_cast<std::size_t>(r.width) - n, '0');
        out.append(digits, n);
        out += item.literals[1];
        out += sep;
      }
    }
  }
}

std::vector<std::string> Hostlist::Expand() const {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(size_));
  for (const Item& item : items_) {
    for (std::uint64_t k = 0; k < item.count; ++k) out.push_back(ItemAt(item, k));
  }
  return out;
}

Parsed<Ok> CheckHostName(std::string_view name) {
  if (name.empty()) return ParseError{0, "empty, expected a host name or address"};
  if (name.size() > kMaxName) {
    return ParseError{kMaxName, std::to_string(name.size()) + " characters; expected a host name of at most " +
                                    std::to_string(kMaxName)};
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != ':') {
      const std::string shown = std::isprint(static_cast<unsigned char>(c))
                                    ? std::string("'") + c + "'"
                                    : "byte " + std::to_string(static_cast<unsigned char>(c));
      return ParseError{i, shown + " at offset " + std::to_string(i) +
                               " cannot be in a host name; expected letters, digits, '.', '-', '_' or ':' (IPv6)"};
    }
  }
  return Ok{};
}

namespace {

struct NumberedHost {
  std::string_view prefix;
  std::string_view digits;  // trailing digits, may be empty
  std::uint64_t value = 0;
};

NumberedHost SplitHost(std::string_view host) {
  std::size_t i = host.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(host[i - 1]))) --i;
  NumberedHost s{host.substr(0, i), host.substr(i), 0};
  if (s.digits.size() > kMaxDigits) {  // too long to be a number: keep it literal
    s.prefix = host;
    s.digits = {};
  }
  for (char c : s.digits) s.value = s.value * 10 + static_cast<std::uint64_t>(c - '0');
  return s;
}

}  // namespace

std::string Compress(const std::vector<std::string>& hosts) {
  std::string out;
  std::size_t i = 0;
  while (i < hosts.size()) {
    const NumberedHost first = SplitHost(hosts[i]);
    if (!out.empty()) out += ',';
    if (first.digits.empty()) {
      out += hosts[i++];
      continue;
    }
    // The run of adjacent hosts with this prefix.
    std::size_t end = i + 1;
    while (end < hosts.size()) {
      const NumberedHost s = SplitHost(hosts[end]);
      if (s.digits.empty() || s.prefix != first.prefix) break;
      ++end;
    }
    if (end == i + 1) {
      out += hosts[i++];
      continue;
    }
    out += first.prefix;
    out += '[';
    bool first_range = true;
    while (i < end) {
      const NumberedHost lo = SplitHost(hosts[i]);
      const int width = static_cast<int>(lo.digits.size());
      std::uint64_t hi = lo.value;
      std::size_t j = i + 1;
      while (j < end) {
        const NumberedHost s = SplitHost(hosts[j]);
        if (s.value != hi + 1 || Pad(s.value, width) != s.digits) break;
        hi = s.value;
        ++j;
      }
      if (!first_range) out += ',';
      first_range = false;
      out += lo.digits;
      if (hi != lo.value) out += "-" + Pad(hi, width);
      i = j;
    }
    out += ']';
  }
  return out;
}

}  // namespace rankwrap::parse
