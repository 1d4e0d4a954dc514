import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Stable hash of a folder's files (names and contents, sorted), used as a rebuild/re-run trigger. */
export function hashDirectory(dir: string): string {
  const hash = createHash("sha256");
  for (const file of listFiles(dir)) {
    hash.update(path.relative(dir, file).split(path.sep).join("/"));
    hash.update("\0");
    hash.update(fs.readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** Stable hash of strings (e.g. rendered files), independent of object key order. */
export function hashContent(parts: Record<string, string>): string {
  const hash = createHash("sha256");
  for (const key of Object.keys(parts).sort()) {
    hash.update(key).update("\0").update(parts[key]).update("\0");
  }
  return hash.digest("hex");
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full) : [full];
    });
}
