#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

namespace shardhose::daemon {
namespace {

sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR2);  // internal: wakes the watcher to exit
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_stop, std::function<void()> on_reload) {
  thread_ = std::thread([on_stop = std::move(on_stop), on_reload = std::move(on_reload)] {
    sigset_t set = ShutdownSet();
    int count = 0;
    for (;;) {
      int signo = 0;
      if (sigwait(&set, &signo) != 0) continue;
      if (signo == SIGUSR2) return;
      if (signo == SIGHUP) {
        if (on_reload) {
          on_reload();
        } else {
          spdlog::info("received SIGHUP: nothing to reload, ignored");
        }
        continue;
      }
      if (++count == 1) {
        spdlog::info("received {}, flushing and stopping (send it again to exit at once)",
                     signo == SIGTERM ? "SIGTERM" : "SIGINT");
        on_stop(signo);
      } else {
        spdlog::warn("received a second signal, exiting now; the checkpoint only covers durable records");
        spdlog::default_logger()->flush();
        std::_Exit(130);
      }
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace shardhose::daemon
