// A webpack 5 production build of app/ with no configuration beyond the
// entry and the output folder: node webpack.mjs <app dir> <out dir>.
import webpack from "webpack";
import path from "node:path";

const [app, out] = process.argv.slice(2).map((p) => path.resolve(p));
webpack({ mode: "production", context: app, entry: "./main.js", output: { path: out, filename: "main.js" } }, (err, stats) => {
  // Any warning fails the build but webpack's advice on big assets (smh.wasm is big).
  const warnings = stats?.compilation.warnings.filter((w) => !/size limit/.test(w.message)) ?? [];
  if (err || stats.hasErrors() || warnings.length) {
    console.error(err ?? stats.toString({ all: false, errors: true, warnings: true }));
    process.exit(1);
  }
  console.log(stats.toString({ all: false, assets: true }));
});
