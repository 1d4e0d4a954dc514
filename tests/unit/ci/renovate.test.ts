/**
 * renovate.json: its shape (JSON schema of the options it uses) and, above all, that its regex
 * managers find every image pin in the real stack files and service defaults.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const config = JSON.parse(readFileSync(path.join(REPO_ROOT, "renovate.json"), "utf8"));
const schema = JSON.parse(readFileSync(path.join(__dirname, "renovate-config.schema.json"), "utf8"));

interface RegexManager {
  description: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  autoReplaceStringTemplate?: string;
}
const [stackManager, servicesManager] = config.customManagers as RegexManager[];

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** Renovate writes file patterns as "/regex/". */
function filePattern(pattern: string): RegExp {
  return new RegExp(pattern.slice(1, -1));
}

function repoFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" }).map((name) => `${dir}/${name}`),
  );
}

function managedFiles(manager: { managerFilePatterns: string[] }, files: string[]): string[] {
  return files.filter((file) => manager.managerFilePatterns.some((p) => filePattern(p).test(file)));
}

interface Dependency {
  depName?: string;
  currentValue?: string;
  currentDigest?: string;
  match: string;
}

function extract(manager: RegexManager, text: string): Dependency[] {
  return manager.matchStrings.flatMap((source) => [...text.matchAll(new RegExp(source, "g"))].map((m) => ({ ...m.groups, match: m[0] })));
}

/** The few Handlebars forms autoReplaceStringTemplate uses, rendered for one update. */
function renderTemplate(template: string, values: Record<string, string | undefined>): string {
  return template
    .replace(/\{\{#if (\w+)\}\}(.*?)\{\{\/if\}\}/g, (_all, name: string, body: string) => (values[name] ? body : ""))
    .replace(/\{\{(\w+)\}\}/g, (_all, name: string) => values[name] ?? "");
}

describe("renovate.json", () => {
  it("matches the schema of the options it uses", () => {
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("uses only regex syntax Renovate's RE2 engine accepts (no lookaround, no backreference)", () => {
    for (const manager of config.customManagers as RegexManager[]) {
      for (const source of manager.matchStrings) {
        expect(source).not.toMatch(/\(\?[=!]|\(\?<[=!]|\\[1-9]/);
        expect(() => new RegExp(source)).not.toThrow();
      }
    }
  });

  it("covers the GitLab CI includes under ci/", () => {
    const files = [".gitlab-ci.yml", ...repoFiles("ci").filter((f) => f.endsWith(".yml"))];
    expect(managedFiles(config.gitlabci, files)).toEqual(files);
  });
});

describe("stack file manager", () => {
  const stackFiles = repoFiles("stacks").filter((f) => /^stacks\/Pulumi\.[^/]+\.yaml$/.test(f));

  it("reads every host stack file", () => {
    expect(stackFiles).toEqual(expect.arrayContaining(["stacks/Pulumi.pica01.yaml", "stacks/Pulumi.pica02.yaml"]));
    expect(managedFiles(stackManager, stackFiles)).toEqual(stackFiles);
    expect(managedFiles(stackManager, ["stacks/index.ts", "stacks/Pulumi.yaml.bak"])).toEqual([]);
  });

  it("finds every `image:` in the real stack files and nothing else (not infra:images, not our pins)", () => {
    for (const file of stackFiles) {
      const text = readFileSync(path.join(REPO_ROOT, file), "utf8");
      const imageLines = text.split("\n").filter((line) => /^\s*image:/.test(line));
      expect(
        extract(stackManager, text).map((d) => d.match.trim()),
        file,
      ).toEqual(imageLines.map((l) => l.trim().replace(/\s+#.*$/, "")));
    }
  });

  it.each([
    [`      image: "mattermost/mattermost-team-edition:10.5.2@${DIGEST}"`, "mattermost/mattermost-team-edition", "10.5.2", DIGEST],
    ["      image: nextcloud:30.0.4-apache", "nextcloud", "30.0.4-apache", undefined],
    [`      image: 'collabora/code:24.04.12.1.1@${DIGEST}'`, "collabora/code", "24.04.12.1.1", DIGEST],
    [`      image: "registry.example.org:5000/asso/tool:v1.2@${DIGEST}"`, "registry.example.org:5000/asso/tool", "v1.2", DIGEST],
  ])("extracts %s", (line, depName, currentValue, currentDigest) => {
    const [dep] = extract(stackManager, `config:\n  infra:services:\n    app:\n${line}\n`);
    expect(dep).toMatchObject({ depName, currentValue, currentDigest });
  });

  it("rewrites a pin as a quoted image that still parses under the same key", () => {
    const line = "      image: nextcloud:30.0.4-apache";
    const [dep] = extract(stackManager, line);
    const replaced = line.replace(
      dep.match,
      renderTemplate(stackManager.autoReplaceStringTemplate ?? "", { depName: dep.depName, newValue: "30.0.5-apache", newDigest: DIGEST }),
    );
    expect(parse(replaced)).toEqual({ image: `nextcloud:30.0.5-apache@${DIGEST}` });
  });
});

describe("service defaults manager", () => {
  // Image defaults live in each service's settings.ts and in the platform's building blocks.
  const serviceFiles = [...repoFiles("services"), ...repoFiles("platform")].filter(
    (f) => f.endsWith(".ts") && /const [A-Z0-9_]*IMAGE = "/.test(readFileSync(path.join(REPO_ROOT, f), "utf8")),
  );

  it("reads every module that declares a default image", () => {
    expect(managedFiles(servicesManager, serviceFiles)).toEqual(serviceFiles);
  });

  it("finds every image constant in the real service modules", () => {
    let found = 0;
    for (const file of serviceFiles) {
      const text = readFileSync(path.join(REPO_ROOT, file), "utf8");
      const constants = text.match(/const [A-Z0-9_]*IMAGE = "[^"]*"/g) ?? [];
      const deps = extract(servicesManager, text);
      expect(
        deps.map((d) => d.match),
        file,
      ).toEqual(constants);
      for (const dep of deps) expect(dep.currentValue, `${file}: ${dep.match}`).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
      found += deps.length;
    }
    expect(found).toBeGreaterThan(0);
  });

  it.each([
    ['export const DEFAULT_IMAGE = "mattermost/mattermost-team-edition:10.5.2"', "mattermost/mattermost-team-edition", "10.5.2", undefined],
    [`export const PROXY_IMAGE = "traefik:v3.3.5@${DIGEST}"`, "traefik", "v3.3.5", DIGEST],
  ])("extracts %s", (line, depName, currentValue, currentDigest) => {
    expect(extract(servicesManager, line)[0]).toMatchObject({ depName, currentValue, currentDigest });
  });
});
