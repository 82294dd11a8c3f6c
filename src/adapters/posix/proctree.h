// The processes of a job, found through /proc whatever they did (stage:
// supervise). rankwrap's supervising process is a child subreaper, so every
// process its ranks start stays its descendant even after its parent exits,
// setsid()s or changes process group. Ending the job means signalling every
// descendant, not a process group a program may have left.
#pragma once

#include <sys/types.h>

#include <vector>

namespace rankwrap::posix {

// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to this
// process instead of init. False when the kernel refuses (then descendants
// that outlive their parent escape; rankwrap warns).
bool BecomeSubreaper();

// Every descendant of `root` (not `root` itself), parents before children,
// from one scan of /proc/<pid>/stat. Zombies are included.
std::vector<pid_t> Descendants(pid_t root);

// Sends `sig` to every live descendant of `root`, scanning again until a scan
// finds none it has not signalled (a process forking meanwhile is caught by
// the next scan). Returns how many processes were signalled.
int SignalDescendants(pid_t root, int sig);

// True when `root` has a descendant that is not a zombie.
bool HasLiveDescendants(pid_t root);

}  // namespace rankwrap::posix
