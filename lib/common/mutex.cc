// Mutex::AssertHeld (mutex.h). CondVar::NotifyAll is in clock.cc, beside
// the simulated clock's waiters it must also wake.
#include "common/mutex.h"

#include <cstdio>
#include <cstdlib>

namespace shardhose {

void Mutex::AssertHeld() const {
  if (owner_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    std::fprintf(stderr, "shardhose: Mutex::AssertHeld: the calling thread does not hold the mutex\n");
    std::abort();
  }
}

}  // namespace shardhose
