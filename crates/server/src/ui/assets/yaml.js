// Objects shown as YAML (the form `kubectl get -o yaml` shows), for reading only.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const WORDS = ["true", "false", "null", "yes", "no", "on", "off", "~"];

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value !== "string") return String(value);
  if (value.includes("\n")) return null;
  return PLAIN.test(value) && !WORDS.includes(value.toLowerCase()) ? value : JSON.stringify(value);
}

function lines(value, indent, out) {
  const pad = " ".repeat(indent);
  const entries = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
  if (!entries.length) {
    out.push(pad + (Array.isArray(value) ? "[]" : "{}"));
    return;
  }
  for (const [key, item] of entries) {
    const lead = pad + (key === null ? "- " : (scalar(key) || JSON.stringify(key)) + ":");
    const nested = item !== null && typeof item === "object";
    if (nested && Object.keys(item).length) {
      out.push(key === null ? pad + "-" : lead);
      lines(item, indent + 2, out);
    } else if (nested) {
      out.push(lead + (key === null ? "" : " ") + (Array.isArray(item) ? "[]" : "{}"));
    } else {
      const text = scalar(item);
      if (text !== null) out.push(lead + (key === null ? "" : " ") + text);
      else {
        out.push(lead + (key === null ? "" : " ") + "|");
        for (const line of item.replace(/\n$/, "").split("\n")) out.push(pad + "  " + line);
      }
    }
  }
}

export function toYaml(value) {
  const out = [];
  if (value !== null && typeof value === "object") lines(value, 0, out);
  else out.push(scalar(value) || JSON.stringify(value));
  return out.join("\n");
}
