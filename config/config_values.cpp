// Reading, writing and describing values of schema fields, and key suggestions.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <set>

#include "config/config_schema.h"
#include "core/text_distance.h"

namespace condenser {
namespace {

// Every section key ("student", "student.train"), then fields, in first-seen order.
std::vector<std::string> build_key_candidates() {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const FieldSpec& field : config_fields()) {
    for (std::size_t dot = field.key.find('.'); dot != std::string::npos;
         dot = field.key.find('.', dot + 1)) {
      if (seen.insert(field.key.substr(0, dot)).second) keys.push_back(field.key.substr(0, dot));
    }
    keys.push_back(field.key);
  }
  return keys;
}

std::string format_double(double v) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
  std::string s(buf, result.ptr);
  // Keep a '.' so YAML 1.1 readers (PyYAML) also see a float: 4 -> 4.0, 1e-05 -> 1.0e-05.
  if (s.find_first_of(".ni") == std::string::npos) {
    const std::size_t e = s.find('e');
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  return s;
}

std::string format_bound(double v) {
  std::string s = format_double(v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

bool in_range(double v, const Range& r) {
  if (r.low && !(r.low->inclusive ? v >= r.low->value : v > r.low->value)) return false;
  if (r.high && !(r.high->inclusive ? v <= r.high->value : v < r.high->value)) return false;
  return true;
}

std::string describe_range(const Range& r) {
  if (r.low && r.high) {
    return " in " + std::string(r.low->inclusive ? "[" : "(") + format_bound(r.low->value) + ", " +
           format_bound(r.high->value) + (r.high->inclusive ? "]" : ")");
  }
  if (r.low) return std::string(r.low->inclusive ? " >= " : " > ") + format_bound(r.low->value);
  if (r.high) return std::string(r.high->inclusive ? " <= " : " < ") + format_bound(r.high->value);
  return "";
}

// The value as it appears in a one-line message.
std::string quoted(const std::string& text) {
  std::string s;
  for (char c : text) s += c == '\n' ? std::string("\\n") : std::string(1, c);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return "'" + s + "'";
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// How far a name of this length may be from a suggestion and still be one.
std::size_t typo_budget(std::size_t length) { return length <= 4 ? 1 : length <= 8 ? 2 : 3; }

std::optional<long long> parse_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::string describe_expected(const FieldSpec& field) {
  switch (field.ref.index()) {
    case 0:
      return "an integer" + describe_range(field.range);
    case 1:
      return "a number" + describe_range(field.range);
    case 2:
      return "true or false";
    default: {
      if (field.choices.empty()) return field.allow_empty ? "a string" : "a non-empty string";
      std::string s = "one of ";
      for (std::size_t i = 0; i < field.choices.size(); ++i) {
        s += (i ? "|" : "") + field.choices[i];
      }
      return s;
    }
  }
}

std::optional<std::string> assign_config_field(const FieldSpec& field, const std::string& text,
                                               Config& config) {
  const std::string failure = "expected " + describe_expected(field) + ", got " + quoted(text);
  if (auto* as_int = std::get_if<std::function<int&(Config&)>>(&field.ref)) {
    auto v = parse_int(text);
    if (!v || *v < INT_MIN || *v > INT_MAX || !in_range(static_cast<double>(*v), field.range)) {
      return failure;
    }
    (*as_int)(config) = static_cast<int>(*v);
  } else if (auto* as_double = std::get_if<std::function<double&(Config&)>>(&field.ref)) {
    auto v = parse_double(text);
    if (!v || !in_range(*v, field.range)) return failure;
    (*as_double)(config) = *v;
  } else if (auto* as_bool = std::get_if<std::function<bool&(Config&)>>(&field.ref)) {
    if (text != "true" && text != "false") return failure;
    (*as_bool)(config) = text == "true";
  } else {
    auto& str = std::get<std::function<std::string&(Config&)>>(field.ref);
    if (!field.choices.empty()) {
      if (std::find(field.choices.begin(), field.choices.end(), text) == field.choices.end()) {
        std::string near = closest_match(lowercase(text), field.choices, typo_budget(text.size()));
        for (const std::string& choice : field.choices) {  // "warning" -> "warn"
          if (near.empty() && !text.empty() && lowercase(text).rfind(choice, 0) == 0) near = choice;
        }
        return near.empty() ? failure : failure + "; did you mean '" + near + "'?";
      }
    } else if (text.empty() && !field.allow_empty) {
      return failure;
    }
    if (field.check) {
      if (auto problem = field.check(text)) return problem;
    }
    str(config) = text;
  }
  return std::nullopt;
}

std::string config_field_text(const FieldSpec& field, const Config& config) {
  Config copy = config;  // the accessors are non-const; a copy is cheap enough here
  return std::visit(
      [&copy](const auto& ref) -> std::string {
        using T = std::decay_t<decltype(ref(copy))>;
        if constexpr (std::is_same_v<T, int>) return std::to_string(ref(copy));
        if constexpr (std::is_same_v<T, double>) return format_double(ref(copy));
        if constexpr (std::is_same_v<T, bool>) return ref(copy) ? "true" : "false";
        if constexpr (std::is_same_v<T, std::string>) return ref(copy);
      },
      field.ref);
}

std::string suggest_config_key(const std::string& unknown) {
  static const std::vector<std::string> candidates = build_key_candidates();
  const std::string key = lowercase(unknown);
  const std::string last = key.substr(key.rfind('.') + 1);
  const std::size_t budget = typo_budget(last.size());
  // A typo anywhere in the key ("studnet.train.epocs").
  std::string best = closest_match(key, candidates, budget);
  if (!best.empty()) return best;
  // A known name in the wrong section ("student.epochs"): the nearest key that
  // ends in (nearly) the same name.
  std::vector<std::string> same_name;
  for (const std::string& candidate : candidates) {
    const std::string tail = candidate.substr(candidate.rfind('.') + 1);
    if (edit_distance(last, tail) <= budget) same_name.push_back(candidate);
  }
  return closest_match(key, same_name, SIZE_MAX - 1);
}

}  // namespace condenser
