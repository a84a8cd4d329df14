// systemd notification (daemon/service.h): READY=1, STATUS=, WATCHDOG=1 and
// STOPPING=1 through libsystemd's sd_notify.
//
// One thread, started by Ready(), wakes at the earlier of two deadlines:
//   status   every 1 s: STATUS=<Health::Summary>, prefixed with "flushing: "
//            once Stopping() was called.
//   watchdog every WATCHDOG_USEC/2 (only when sd_watchdog_enabled() says the
//            watchdog is armed for this PID): WATCHDOG=1 if GetHealth().alive,
//            otherwise nothing (and a warning, once per episode), so systemd
//            kills and restarts a wedged daemon.
// Without NOTIFY_SOCKET nothing is sent and no thread is started.
//
// STOPPING=1 is sent once: by Stopping(), or by the thread as soon as
// GetHealth().stopping turns true (drain complete, Stop() from a signal),
// or at the latest by the destructor. Stopping() is safe from any thread
// (e.g. the SignalWatcher callback), not only the main one.
//
// Datagrams go out from up to three threads (main: READY; any: STOPPING;
// notifier: STATUS, WATCHDOG), one at a time under `send_mu`; every STATUS=
// sent after STOPPING=1 says "flushing". Lock order: send_mu, then mu.
#include "service.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

namespace shardhose::daemon {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);

// STATUS= is one line; systemd shows it in `systemctl status`.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

struct ServiceNotifier::Impl {
  Impl(const pipeline::Pipeline* p, Clock* c) : pipeline(p), clock(c) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled = socket != nullptr && socket[0] != '\0';
    uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us.
    if (enabled && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0) {
      watchdog_interval = std::chrono::microseconds(usec / 2);
      if (watchdog_interval.count() == 0) watchdog_interval = std::chrono::microseconds(1);
    }
  }

  // Sends one notification; failures are logged once (a broken socket must
  // not take the daemon down).
  void Send(const std::string& message) {
    std::lock_guard<std::mutex> lock(send_mu);
    SendLocked(message);
  }

  // STATUS=, "flushing: ..." once STOPPING=1 went out (decided under
  // send_mu, so it cannot go out after STOPPING=1 without the prefix).
  void SendStatus() {
    const std::string line = StatusLine();
    std::lock_guard<std::mutex> lock(send_mu);
    bool flushing;
    {
      std::lock_guard<std::mutex> state(mu);
      flushing = stopping;
    }
    SendLocked("STATUS=" + std::string(flushing ? "flushing: " : "") + line);
  }

  void SendLocked(const std::string& message) {
    int rc = sd_notify(/*unset_environment=*/0, message.c_str());
    if (rc < 0 && !send_failed) {
      send_failed = true;
      spdlog::warn("sd_notify failed: {}", std::strerror(-rc));
    }
  }

  std::string StatusLine() const {
    pipeline::Health h = pipeline->GetHealth();
    std::string s = h.Summary(clock->WallNow());
    if (!h.alive) s = "NOT ALIVE (a poller, uploader or the main loop is stuck): " + s;
    return OneLine(s);
  }

  void Loop() {
    using Steady = std::chrono::steady_clock;
    auto next_status = Steady::now() + kStatusInterval;
    auto next_watchdog = Steady::now() + watchdog_interval;
    std::unique_lock<std::mutex> lock(mu);
    while (!quit) {
      auto wake = next_status;
      if (watchdog_interval.count() > 0 && next_watchdog < wake) wake = next_watchdog;
      cv.wait_until(lock, wake, [&] { return quit; });
      if (quit) break;
      const bool flushing = stopping;
      lock.unlock();
      // Shutdown may begin without a Stopping() call (drain complete, or a
      // signal handled elsewhere): the pipeline says so.
      if (!flushing && pipeline->GetHealth().stopping) SendStopping();
      const auto now = Steady::now();
      if (watchdog_interval.count() > 0 && now >= next_watchdog) {
        Watchdog();
        next_watchdog = now + watchdog_interval;
      }
      if (now >= next_status) {
        SendStatus();
        next_status = now + kStatusInterval;
      }
      lock.lock();
    }
  }

  bool IsStopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }

  // STOPPING=1 once. Safe from any thread.
  void SendStopping() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
      stopping = true;
    }
    Send("STOPPING=1\nSTATUS=flushing: " + StatusLine());
  }

  void Watchdog() {
    const bool alive = pipeline->GetHealth().alive;
    if (alive) {
      if (withheld) spdlog::info("watchdog: pipeline alive again; WATCHDOG=1 resumed");
      withheld = false;
      Send("WATCHDOG=1");
    } else if (!withheld) {
      withheld = true;
      spdlog::warn(
          "watchdog: a poller, uploader or the main loop is stuck; not sending WATCHDOG=1 "
          "(systemd will restart the service when WatchdogSec= runs out)");
    }
  }

  const pipeline::Pipeline* const pipeline;
  Clock* const clock;
  bool enabled = false;
  std::chrono::microseconds watchdog_interval{0};  // 0 = no watchdog

  std::mutex send_mu;        // one datagram at a time; taken before mu
  bool send_failed = false;  // guarded by send_mu

  std::mutex mu;
  std::condition_variable cv;
  bool quit = false;      // guarded by mu
  bool stopping = false;  // guarded by mu
  bool withheld = false;  // notifier thread only
  std::thread thread;
  std::atomic<bool> ready{false};  // READY=1 sent (Reloading() runs on the signal thread)
};

ServiceNotifier::ServiceNotifier(const pipeline::Pipeline* pipeline, Clock* clock)
    : impl_(std::make_unique<Impl>(pipeline, clock)) {}

ServiceNotifier::~ServiceNotifier() {
  // The process is about to exit after Run(): if nothing said so yet (a
  // drain that finished between two ticks), say it now.
  if (impl_->enabled && impl_->thread.joinable()) impl_->SendStopping();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->quit = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void ServiceNotifier::Ready() {
  if (!impl_->enabled || impl_->thread.joinable()) return;
  impl_->Send("READY=1\nSTATUS=" + impl_->StatusLine());
  if (impl_->watchdog_interval.count() > 0) {
    impl_->Watchdog();
    spdlog::debug("systemd watchdog armed: WATCHDOG=1 every {} ms while the pipeline is alive",
                  std::chrono::duration_cast<std::chrono::milliseconds>(impl_->watchdog_interval).count());
  }
  impl_->thread = std::thread([this] { impl_->Loop(); });
  impl_->ready.store(true);
}

void ServiceNotifier::Stopping() {
  if (impl_->enabled) impl_->SendStopping();
}

void ServiceNotifier::Reloading() {
  if (!impl_->enabled || !impl_->ready.load() || impl_->IsStopping()) return;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1000000LL + now.tv_nsec / 1000;
  impl_->Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading the configuration");
}

void ServiceNotifier::Reloaded() {
  if (!impl_->enabled || !impl_->ready.load() || impl_->IsStopping()) return;
  impl_->Send("READY=1\nSTATUS=" + impl_->StatusLine());
}

}  // namespace shardhose::daemon
