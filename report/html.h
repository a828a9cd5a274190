#pragma once
// Small text helpers shared by the report, the dashboard and the model card.
#include <cstdint>
#include <string>

namespace condenser {

// Escapes &, <, >, " and ' for HTML/SVG text and attribute values.
std::string html_escape(const std::string& text);

// Human-readable numbers: fmt_num(0.12345, 3) == "0.123", fmt_pct(0.8123) ==
// "81.23%", fmt_bytes(2048) == "2.0 KiB", fmt_count(42123) == "42,123",
// fmt_seconds(75.2) == "1 min 15 s".
std::string fmt_num(double value, int decimals);
std::string fmt_pct(double fraction, int decimals = 2);
std::string fmt_bytes(double bytes);
std::string fmt_count(int64_t n);
std::string fmt_seconds(double seconds);

// A complete self-contained HTML document: inline CSS only, no external
// assets. `head_extra` goes into <head> (e.g. a refresh meta tag).
std::string html_page(const std::string& title, const std::string& body,
                      const std::string& head_extra = "");

}  // namespace condenser
