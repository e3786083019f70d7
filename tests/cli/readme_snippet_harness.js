// Run the README's console snippet (file given as the argument) against a fake IndexedDB and a fake document, to check it is valid and does what it says.
const fs = require("fs");
const stores = { runs: [{ id: "run_1", name: "A" }], generations: [{ runId: "run_1", generation: 0, results: [] }] };
const request = (result) => { const r = {}; setTimeout(() => { r.result = result; r.onsuccess && r.onsuccess(); }, 0); return r; };
global.indexedDB = { open: (name) => { if (name !== "EvolutionLabDB") throw new Error(name); return request({ transaction: (s) => ({ objectStore: (n) => ({ getAll: () => request(stores[n]) }) }) }); } };
let saved = null;
global.Blob = class { constructor(parts) { this.text = parts.join(""); } };
global.URL = { createObjectURL: (b) => { saved = b.text; return "blob:x"; } };
global.document = { createElement: () => ({ click() { if (this.download !== "evolution-lab-dump.json") throw new Error("name"); } }) };
const log = console.log;
console.log = (m) => { log(m); const d = JSON.parse(saved); if (d.runs.length !== 1 || d.generations.length !== 1) process.exit(1); log("ok"); };
eval(fs.readFileSync(process.argv[2], "utf8"));
