// config::Diff (config.h): every key of the option table whose TOML value
// differs between two configurations.
#include "config/config.h"
#include "config/schema.h"

namespace shardhose::config {

std::vector<KeyChange> Diff(const Config& before, const Config& after) {
  Config a = before;  // ValueAsToml reads through the table's accessors
  Config b = after;
  std::vector<KeyChange> out;
  for (const internal::Option& o : internal::Options()) {
    std::string va = internal::ValueAsToml(o, a);
    std::string vb = internal::ValueAsToml(o, b);
    if (va != vb) out.push_back(KeyChange{internal::Dotted(o), std::move(va), std::move(vb)});
  }
  return out;
}

}  // namespace shardhose::config
