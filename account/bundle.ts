import * as fs from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";

/**
 * The account page runs as one JavaScript file on Debian's Node.js (18): `npm run build:account` bundles
 * account/app with its dependencies (hono, ldapts, nodemailer, from the repository's package.json) into
 * account/image/app.js, which the image copies. The file is committed so that every image build (CI,
 * a host, the tests) needs no npm; tests/unit/account checks it is the bundle of the current sources.
 */
export const BUNDLE_FILE = path.join(__dirname, "image", "app.js");

export async function bundleAccountApp(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(__dirname, "app", "main.ts")],
    bundle: true,
    platform: "node",
    target: "node18",
    format: "cjs",
    minify: true,
    legalComments: "eof",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

if (require.main === module) {
  bundleAccountApp().then((code) => {
    fs.writeFileSync(BUNDLE_FILE, code);
    console.log(`${path.relative(process.cwd(), BUNDLE_FILE)}: ${(code.length / 1024).toFixed(0)} KiB`);
  });
}
