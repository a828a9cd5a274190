#pragma once
// The config schema: every dotted key bound to one Config field with its
// type, allowed values and a one-line help. The table is config_schema.cpp
// (nothing else lists keys); config_values.cpp parses, prints and describes
// values for config.cpp (YAML in and out) and for anything documenting keys.
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace condenser {

// The most runtime.threads a config may hold on any machine.
inline constexpr int kMaxThreads = 1024;

// One end of a numeric range.
struct Bound {
  double value = 0;
  bool inclusive = true;
};

// Allowed numeric values; an absent end is unbounded.
struct Range {
  std::optional<Bound> low;
  std::optional<Bound> high;
};

// Where a field lives inside a Config; the alternative held is its type.
using FieldRef = std::variant<std::function<int&(Config&)>, std::function<double&(Config&)>,
                              std::function<bool&(Config&)>, std::function<std::string&(Config&)>>;

struct FieldSpec {
  std::string key;                   // dotted, e.g. "student.train.epochs"
  FieldRef ref;                      // which field, and so which type
  Range range;                       // int and double fields
  std::vector<std::string> choices;  // string fields: allowed values (empty = any)
  bool allow_empty = true;           // string fields without choices
  std::string help;                  // one line, no trailing period
  // String fields holding a YAML list or map (prune.stages): a sequence or
  // map in the file or an override is stored as its flow-style text, so the
  // rest of the config machinery (dumps, checkpoint diffs) sees one string.
  bool structured = false;
  // String fields: the reason a text is invalid (without location), or nullopt.
  std::function<std::optional<std::string>(const std::string&)> check;
};

// Every field, in schema order (sections contiguous, as in config.h).
const std::vector<FieldSpec>& config_fields();

// The field for a dotted key, or nullptr.
const FieldSpec* find_config_field(const std::string& key);

// True for a key that names a map of fields, e.g. "student" or "student.train".
bool is_config_section(const std::string& key);

// What a valid value looks like, for messages: "an integer >= 0",
// "a number in [0, 1)", "one of adam|sgd", "true or false".
std::string describe_expected(const FieldSpec& field);

// Parses a YAML scalar's text into the field. On failure leaves `config`
// untouched and returns the reason without location, e.g.
// "expected an integer >= 0, got 'abc'".
std::optional<std::string> assign_config_field(const FieldSpec& field, const std::string& text,
                                               Config& config);

// The field's value as YAML scalar text; assign_config_field reads it back to
// an equal value (doubles use the shortest exact form).
std::string config_field_text(const FieldSpec& field, const Config& config);

// The valid key (field or section) a misspelled or misplaced key most likely
// meant, or "" when nothing is close.
std::string suggest_config_key(const std::string& unknown);

}  // namespace condenser
