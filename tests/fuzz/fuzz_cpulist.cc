// Fuzzes Slurm's map_cpu:/mask_cpu: list parser (--cpu-bind). The first
// byte picks the form; the rest is the list.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/parse/cpulist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using rankwrap::parse::CpuListForm;
  const CpuListForm form = (data[0] & 1) ? CpuListForm::kMask : CpuListForm::kMap;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto items = rankwrap::parse::CpuList(text, form);
  if (!items) {
    if (items.error().pos > text.size() || items.error().message.empty()) std::abort();
    return 0;
  }
  if (items->empty()) std::abort();
  std::uint64_t total = 0;
  for (const auto& item : *items) {
    if (item.cpus.empty() || item.repeat == 0 || item.repeat > rankwrap::parse::kMaxCpuRepeat) std::abort();
    if (form == CpuListForm::kMap && item.cpus.size() != 1) std::abort();
    for (std::size_t i = 0; i < item.cpus.size(); ++i) {
      if (item.cpus[i] > rankwrap::parse::kMaxCpuId) std::abort();
      if (i > 0 && item.cpus[i] <= item.cpus[i - 1]) std::abort();  // ascending, no duplicate
    }
    total += item.repeat;
  }
  // The list cycles: rank `total` takes what rank 0 takes.
  if (&rankwrap::parse::CpuListAt(*items, 0) != &rankwrap::parse::CpuListAt(*items, total)) std::abort();
  if (&rankwrap::parse::CpuListAt(*items, total - 1) != &items->back()) std::abort();
  return 0;
}
