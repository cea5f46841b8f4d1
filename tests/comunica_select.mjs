// Run SPARQL queries with Comunica over one RDF file, as its users do (the file is the
// query's only source), all in one process: the engine starts once.
//   node tests/comunica_select.mjs FILE < queries.json
// queries.json is {"name": "query text", ...}; prints {"name": SPARQL 1.1 JSON results, ...}
// with {"name": {"error": "message"}} for a query Comunica refuses or fails on (an error
// thrown inside its result stream, which would otherwise stop the process, included).
// Used by tests/test_one_download.py; Comunica is installed by scripts/npm-deps.sh.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { QueryEngine } from "@comunica/query-sparql-file";

const file = resolve(process.argv[2]);
const queries = JSON.parse(readFileSync(0, "utf-8"));
const engine = new QueryEngine();

async function answer(text) {
  const result = await engine.query(text, { sources: [file] });
  const { data } = await engine.resultToString(result, "application/sparql-results+json");
  let body = "";
  for await (const chunk of data) body += chunk;
  return JSON.parse(body);
}

function guarded(text) {
  return new Promise((resolveAnswer, reject) => {
    process.once("uncaughtException", reject);
    answer(text).then(resolveAnswer, reject)
      .finally(() => process.removeListener("uncaughtException", reject));
  });
}

const answers = {};
for (const [name, text] of Object.entries(queries)) {
  try {
    answers[name] = await guarded(text);
  } catch (e) {
    answers[name] = { error: String(e && e.message ? e.message : e) };
  }
}
process.stdout.write(JSON.stringify(answers));
