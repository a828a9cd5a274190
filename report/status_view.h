#pragma once
// `condenser status`: a job's progress in the terminal, from
// RUN_DIR/progress.json (rank 0 rewrites it as the job runs) or from a
// running coordinator's GET /status.
#include <nlohmann/json.hpp>
#include <string>

namespace condenser {

// One line per stage with a bar, then the current stage, rate and ETA.
std::string render_progress(const nlohmann::json& progress);

// RUN_DIR/progress.json; UsageError when RUN_DIR has none (not a run, or it
// has not started training yet).
nlohmann::json read_progress(const std::string& run_dir);

// The JSON body of GET http://HOST:PORT/status over protocol/tcp_client.h
// (5 s to connect, 10 s in all); UsageError naming the address when it is
// malformed, cannot be reached or does not answer JSON.
nlohmann::json fetch_status(const std::string& host_port);

}  // namespace condenser
