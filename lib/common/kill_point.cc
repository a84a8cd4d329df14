#include "common/kill_point.h"

#ifdef SHARDHOSE_KILL_POINTS
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace shardhose {

void KillPoint(const char* name) {
  static const std::string target = [] {
    const char* v = std::getenv("SHARDHOSE_KILL_AT");
    return std::string(v ? v : "");
  }();
  if (target.empty()) return;
  static const std::string point = target.substr(0, target.find(':'));
  static const long nth = target.find(':') == std::string::npos ? 1 : std::atol(target.c_str() + target.find(':') + 1);
  static std::atomic<long> hits{0};
  if (point != name) return;
  if (hits.fetch_add(1) + 1 == nth) {
    static const char msg[] = "shardhose: SHARDHOSE_KILL_AT reached, SIGKILL\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    kill(getpid(), SIGKILL);
  }
}

}  // namespace shardhose
#endif
