// File: daemon/service.h
//
// systemd integration (Type=notify) through libsystemd's sd_notify. Does
// nothing when NOTIFY_SOCKET is not set (a terminal, a container).
//
//   Ready()    - READY=1 and a first STATUS=; call once Pipeline::Start()
//                succeeded (config valid, credentials resolve, shard list
//                known). Starts a thread that every second sends STATUS=
//                (Health::Summary) and, when WatchdogSec= is set
//                (sd_watchdog_enabled), WATCHDOG=1 at half the interval —
//                but only while Pipeline::GetHealth().alive: a wedged poller,
//                uploader or main loop lets the watchdog fire.
//   Stopping() - STOPPING=1 and STATUS= "flushing ..."; the thread keeps
//                feeding the watchdog while the flush makes progress.
//   Reloading(), Reloaded()
//              - around a SIGHUP's reload (daemon/reload.h), as
//                sd_notify(3) asks: RELOADING=1 with MONOTONIC_USEC= (which
//                Type=notify-reload needs) and a STATUS=, then READY=1.
//                Only between Ready() and Stopping(): a reload before the
//                daemon is ready, or while it stops, says nothing.
//
// Thread-safety: Ready() from the main thread; the others from any thread.
#pragma once

#include <memory>

#include "common/clock.h"
#include "pipeline/pipeline.h"

namespace shardhose::daemon {

class ServiceNotifier {
 public:
  // REQUIRES: pipeline and clock outlive the notifier.
  ServiceNotifier(const pipeline::Pipeline* pipeline, Clock* clock);
  ~ServiceNotifier();  // stops the thread
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  void Ready();
  void Stopping();
  void Reloading();
  void Reloaded();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardhose::daemon
