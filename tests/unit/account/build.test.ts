import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { BUNDLE_FILE, bundleAccountApp } from "../../../account/bundle";

describe("the account page's image", () => {
  it("copies the bundle of the current sources (run npm run build:account after changing account/app)", async () => {
    expect(fs.readFileSync(BUNDLE_FILE, "utf8") === (await bundleAccountApp())).toBe(true);
  });
});
