// YAML in and out for Config; every key, type and range comes from
// config_schema.cpp, so this file only walks maps and words messages.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "config/config_schema.h"
#include "core/bounded_read.h"
#include "core/errors.h"

namespace condenser {
namespace {

std::string at_line(const std::string& origin, const YAML::Mark& mark) {
  return mark.is_null() ? origin : origin + ":" + std::to_string(mark.line + 1);
}

std::string kind_of(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "an empty value";
  return "'" + node.Scalar() + "'";
}

std::string unknown_key(const std::string& where, const std::string& key) {
  std::string message = where + ": unknown key '" + key + "'";
  const std::string near = suggest_config_key(key);
  if (!near.empty()) message += "; did you mean '" + near + "'?";
  return message;
}

// "'student' is a section ... such as 'student.model'".
std::string section_misuse(const std::string& key) {
  std::string example;
  for (const FieldSpec& field : config_fields()) {
    if (field.key.compare(0, key.size() + 1, key + ".") == 0) {
      example = field.key;
      break;
    }
  }
  return "'" + key + "' is a section: it takes a map of keys such as '" + example + "'";
}

// The reason a YAML value does not fit the field, or nullopt once it is set.
std::optional<std::string> assign_node(const FieldSpec& field, const YAML::Node& value,
                                       Config& config) {
  const bool is_string = std::holds_alternative<std::function<std::string&(Config&)>>(field.ref);
  if (field.structured && (value.IsMap() || value.IsSequence())) {
    YAML::Emitter flow;
    flow << YAML::Flow << value;
    return assign_config_field(field, flow.c_str(), config);
  }
  // A null string field ("path:" or "path: ~") means empty; other types need a value.
  if (value.IsMap() || value.IsSequence() || (value.IsNull() && !is_string)) {
    return "expected " + describe_expected(field) + ", got " + kind_of(value);
  }
  return assign_config_field(field, value.IsNull() ? "" : value.Scalar(), config);
}

// Walks one YAML map; a key joins its parent's key with '.', so a file may
// nest ("student: {train: {epochs: 3}}") or write "student.train.epochs: 3".
class FileReader {
 public:
  FileReader(const std::string& origin, Config& config) : origin_(origin), config_(config) {}

  void read_section(const YAML::Node& map, const std::string& prefix) {
    for (const auto& entry : map) {  // `entry` owns the pair; it->first would dangle
      const YAML::Node& name = entry.first;
      const YAML::Node& value = entry.second;
      const std::string where = at_line(origin_, name.Mark());
      if (!name.IsScalar()) {
        throw UsageError(where + ": a key must be a plain name, got " + kind_of(name));
      }
      const std::string key = prefix.empty() ? name.Scalar() : prefix + "." + name.Scalar();
      const FieldSpec* field = find_config_field(key);
      if (!field && !is_config_section(key)) throw UsageError(unknown_key(where, key));
      // yaml-cpp keeps repeated keys; the later one would win silently.
      auto [first, fresh] = first_line_.emplace(key, name.Mark().line + 1);
      if (!fresh) {
        throw UsageError(where + ": '" + key + "' is given twice (first on line " +
                         std::to_string(first->second) + ")");
      }
      if (field) {
        if (auto problem = assign_node(*field, value, config_)) {
          throw UsageError(where + ": " + key + ": " + *problem);
        }
      } else if (value.IsMap()) {
        read_section(value, key);
      } else if (!value.IsNull()) {  // an empty section keeps its defaults
        throw UsageError(where + ": " + section_misuse(key) + ", got " + kind_of(value));
      }
    }
  }

 private:
  const std::string& origin_;
  Config& config_;
  std::map<std::string, int> first_line_;
};

void apply_override(const std::string& item, Config& config) {
  const std::string where = "override '" + item + "'";
  const std::size_t eq = item.find('=');
  if (eq == std::string::npos) {
    throw UsageError(where + ": expected key=value, e.g. student.train.epochs=10");
  }
  const std::string key = item.substr(0, eq);
  const FieldSpec* field = find_config_field(key);
  if (!field) {
    if (key.empty()) throw UsageError(where + ": missing the key before '='");
    if (is_config_section(key)) {
      throw UsageError(where + ": " + section_misuse(key) + "; override one key at a time");
    }
    throw UsageError(unknown_key(where, key));
  }
  YAML::Node value;
  try {
    value = YAML::Load(item.substr(eq + 1));  // the same scalar rules as in a file
  } catch (const YAML::Exception& e) {
    throw UsageError(where + ": the value is not valid YAML: " + e.msg);
  }
  if (auto problem = assign_node(*field, value, config)) {
    const bool structured = (value.IsMap() || value.IsSequence()) && !field->structured;
    throw UsageError(where + ": " + *problem + (structured ? " (quote text that has ': ')" : ""));
  }
}

// True when a plain (unquoted) scalar would not read back as this string in
// common YAML readers: empty, null, booleans (YAML 1.1 too), numbers.
bool needs_quotes(const std::string& s) {
  static const char* const kSpecial[] = {"~",  "null", "true", "false", "yes",
                                         "no", "on",   "off",  "y",     "n"};
  if (s.empty()) return true;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* special : kSpecial) {
    if (lower == special) return true;
  }
  const char c = s[0];
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::vector<std::string>& overrides) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.is_null() ? origin
                         : at_line(origin, e.mark) + ":" + std::to_string(e.mark.column + 1);
    throw UsageError(where + ": YAML syntax error: " + e.msg);
  }
  if (documents.size() > 1) {
    throw UsageError(at_line(origin, documents[1].Mark()) +
                     ": a config holds one YAML document; remove the second '---'");
  }
  Config config;
  if (!documents.empty() && !documents[0].IsNull()) {
    const YAML::Node& root = documents[0];
    if (!root.IsMap()) {
      throw UsageError(at_line(origin, root.Mark()) +
                       ": expected a map of settings at the top level, got " + kind_of(root));
    }
    FileReader(origin, config).read_section(root, "");
  }
  for (const std::string& item : overrides) apply_override(item, config);
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    std::string hint;
    if (fs::exists(path + ".yaml", ec)) {
      hint = "; did you mean '" + path + ".yaml'?";
    } else if (fs::path(path).is_relative()) {
      hint = " (relative to the current folder '" + fs::current_path(ec).string() + "')";
    }
    throw UsageError("config file '" + path + "' not found" + hint);
  }
  if (fs::is_directory(path, ec)) {
    throw UsageError("config file '" + path + "' is a folder; pass the .yaml file inside it");
  }
  // Bounded: `validate /dev/zero` or a huge file is refused before parsing.
  const std::string text = read_file_at_most(path, kMaxConfigBytes, "config file");
  return parse_config(text, path, overrides);
}

std::string config_to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::vector<std::string> open;  // sections currently open, outermost first
  for (const FieldSpec& field : config_fields()) {
    std::vector<std::string> path;
    std::stringstream parts(field.key);
    for (std::string part; std::getline(parts, part, '.');) path.push_back(part);
    const std::string leaf = path.back();
    path.pop_back();
    // Schema order keeps each section contiguous, so close then open is enough.
    std::size_t shared = 0;
    while (shared < open.size() && shared < path.size() && open[shared] == path[shared]) ++shared;
    for (; open.size() > shared; open.pop_back()) out << YAML::EndMap;
    for (; open.size() < path.size(); open.push_back(path[open.size()])) {
      out << YAML::Key << path[open.size()] << YAML::Value << YAML::BeginMap;
    }
    const std::string text = config_field_text(field, config);
    out << YAML::Key << leaf << YAML::Value;
    const bool is_string = std::holds_alternative<std::function<std::string&(Config&)>>(field.ref);
    if (is_string && needs_quotes(text)) out << YAML::DoubleQuoted;
    out << text << YAML::Comment(field.help);
  }
  for (; !open.empty(); open.pop_back()) out << YAML::EndMap;
  out << YAML::EndMap;
  if (!out.good()) throw RuntimeFailure("cannot write the config as YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const FieldSpec& field : config_fields()) keys.push_back(field.key);
  return keys;
}

}  // namespace condenser
