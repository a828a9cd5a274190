#pragma once
// Graceful stops: SIGTERM (Slurm's time limit, a preemption notice) and
// SIGUSR1 ask the job to finish its current step, write a checkpoint and exit
// 0; the first SIGINT does the same, a second SIGINT exits at once (130).
//
// Local workers (coordinator/control/local_workers.h) are children of the
// job: a terminal's Ctrl-C reaches its whole process group, and the job, not
// each worker, decides what a stop means; and a worker must not outlive the
// job (kill -9, a second Ctrl-C) holding its resources.
namespace condenser {

void install_stop_signals();
bool stop_requested();

// Set in a local worker's environment to the pid of the job that started it.
inline constexpr const char* kLocalWorkerParentEnv = "CONDENSER_LOCAL_WORKER_OF";

// In a process started with kLocalWorkerParentEnv: dies with SIGKILL when
// its parent dies (PR_SET_PDEATHSIG; exits at once if the parent is gone
// already) and ignores SIGINT (the parent stops the job and then its
// workers). Returns false, doing nothing, without the variable.
bool bind_to_parent_process();

}  // namespace condenser
