#include "report/html.h"

#include <cmath>
#include <cstdio>

namespace condenser {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt_num(double value, int decimals) {
  if (!std::isfinite(value)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string fmt_pct(double fraction, int decimals) {
  return fmt_num(100.0 * fraction, decimals) + "%";
}

std::string fmt_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 3) {
    bytes /= 1024.0;
    ++u;
  }
  return fmt_num(bytes, u == 0 ? 0 : 1) + " " + units[u];
}

std::string fmt_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string fmt_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "n/a";
  if (s < 60) return fmt_num(s, s < 10 ? 1 : 0) + " s";
  const auto total = static_cast<int64_t>(std::llround(s));
  if (total < 3600) return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
  return std::to_string(total / 3600) + " h " + std::to_string(total % 3600 / 60) + " min";
}

std::string html_page(const std::string& title, const std::string& body,
                      const std::string& head_extra) {
  // One inline style sheet; system fonts only, so nothing is fetched.
  static const char* const kStyle = R"(
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:#f4f6f9;color:#1d2733}
header{background:#1f3b57;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85}
main{padding:18px 28px;max-width:1400px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:14px}
.card{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12);min-width:150px}
.card .v{font-size:22px;font-weight:600;color:#1f3b57} .card .k{font-size:12px;color:#5b6b7b}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(620px,1fr));gap:14px}
.panel{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.panel h2{font-size:15px;margin:4px 0 8px}
table{border-collapse:collapse;font-size:13px} th,td{padding:4px 10px;border-bottom:1px solid #e1e6ec;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#eef2f6}
.pbar{background:#e1e6ec;border-radius:4px;height:14px;width:100%;overflow:hidden}
.pbar>div{background:#2e7dd7;height:100%}
.note{font-size:12px;color:#5b6b7b} svg text{font-family:inherit}
)";
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         html_escape(title) + "</title>\n" + head_extra + "<style>" + kStyle +
         "</style>\n</head>\n<body>\n" + body + "\n</body>\n</html>\n";
}

}  // namespace condenser
