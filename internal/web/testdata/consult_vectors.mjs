// Runs the browser's consultation crypto (internal/web/static/consult) against a test-vector
// file, under node's WebCrypto. Usage: node consult_vectors.mjs <static/consult dir> <vectors.json>
// Prints one JSON report: {"results": [{"section", "name", "ok", "detail"}], "refused": {kind: n}}.
// TestConsultJSVectors (consultjs_test.go) runs it and fails on any result that is not ok.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { runVectors } from "./consult_vectors_run.mjs";

const [dir, vectorsPath] = process.argv.slice(2);
const c = await import(pathToFileURL(path.join(dir, "crypto.js")).href);
const v = JSON.parse(await readFile(vectorsPath, "utf8"));
process.stdout.write(JSON.stringify(await runVectors(c, v)) + "\n");
