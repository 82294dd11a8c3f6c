// What a rank wrote to its TORCHELASTIC_ERROR_FILE (stage: supervise), pure.
// Code decorated with torch's @record
// (torch.distributed.elastic.multiprocessing.errors) writes, on an uncaught
// exception, the JSON of ErrorHandler.record_exception
// (torch/distributed/elastic/multiprocessing/errors/error_handler.py):
//   {"message": {"message": "RuntimeError: boom",
//                "extraInfo": {"py_callstack": "Traceback ...", "timestamp": "1700000000"}}}
// Older writers and C++ programs put a plain string in "message".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rankwrap::supervise {

struct RankError {
  std::string message;    // "RuntimeError: boom"
  std::string traceback;  // may be empty
  std::string timestamp;  // Unix seconds as written, may be empty
};

// nullopt when the text is not such a file (not JSON, no "message").
std::optional<RankError> ParseErrorFile(std::string_view text);

// The error in at most `limit` bytes for the job's other nodes: the message,
// then as much of the traceback's end as fits (its last lines matter most).
std::string ErrorSummary(const RankError& e, std::size_t limit);

}  // namespace rankwrap::supervise
