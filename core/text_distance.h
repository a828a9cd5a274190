#pragma once
// Edit distance for "did you mean" suggestions on misspelled names.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace condenser {

// Optimal-string-alignment distance: insertion, deletion, substitution and a
// swap of two adjacent characters each cost 1, so "epcohs" is 1 from "epochs"
// (a plain Levenshtein distance would say 2 for the most common typo).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is at most `max_distance` away, else
// "". Ties go to the earlier candidate, so callers control the preference.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates,
                          std::size_t max_distance);

}  // namespace condenser
