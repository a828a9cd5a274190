#pragma once
// Moving damaged soft-label shards out of the way. A shard that fails its
// checksum, cannot be read, or was labelled for another teacher/dataset is
// never deleted: it goes to SOFT_LABEL_DIR/quarantine/ with a note saying
// why, its manifest entry is dropped, and the caller relabels its positions.
//
// Crash order: the file moves first, the caller saves the manifest after. A
// crash in between leaves a manifest naming a missing file, which the next
// verify_or_quarantine drops as well, so nothing is lost or used twice.
#include <string>
#include <vector>

#include "data/shards/manifest.h"

namespace condenser {

// Renames soft_label_dir/file to soft_label_dir/quarantine/NAME (NAME is the
// file's base name, or NAME.1, NAME.2, ... if taken), writes NAME.reason.txt
// beside it (the original path and `reason`), fsyncs both directories, and
// returns the new path. UsageError (nothing moved) unless
// is_contained_shard; RuntimeFailure if the file is missing or on I/O errors.
std::string quarantine_shard(const std::string& soft_label_dir, const std::string& file,
                             const std::string& reason);

// Verifies every shard of `manifest` in soft_label_dir: the file exists, its
// sha256 matches the entry, it reads as a shard (read_shard_index), its
// teacher_sha256, dataset_fingerprint, temperature, num_classes and top_k
// equal the manifest's, and its rows equal the entry's rows, which equal
// (task_end - task_begin) * views. Entries that are not is_contained_shard
// are dropped without touching anything. Bad shards are quarantined (missing ones
// just dropped), removed from manifest.shards, and returned in manifest order
// for relabelling. The caller saves the manifest. Each problem is logged as
// one warning line.
std::vector<ManifestEntry> verify_or_quarantine(const std::string& soft_label_dir,
                                                Manifest& manifest);

}  // namespace condenser
