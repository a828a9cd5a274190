#pragma once
// Graceful stops: SIGTERM (Slurm's time limit, a preemption notice) and
// SIGUSR1 ask the job to finish its current step, write a checkpoint and exit
// 0; the first SIGINT does the same, a second SIGINT exits at once (130).
namespace condenser {

void install_stop_signals();
bool stop_requested();

}  // namespace condenser
