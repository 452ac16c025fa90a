// Validates every object of a rendered manifest stream (`kubectl kustomize ops/k8s`) against the Kubernetes API
// JSON schemas bundled in the npm package `kubernetes-models` (generated from the Kubernetes OpenAPI spec).
//   kubectl kustomize ops/k8s | node ops/k8s/validate/validate.js     (after `npm ci` in ops/k8s/validate)
// Exits 1 naming the object and the failing paths when anything is invalid or of an unknown apiVersion/kind.
"use strict";
const fs = require("fs");
const yaml = require("js-yaml");

const docs = yaml.loadAll(fs.readFileSync(0, "utf8")).filter((d) => d != null);
let failures = 0;
for (const doc of docs) {
  const id = `${doc.kind}/${doc.metadata && doc.metadata.name} (${doc.apiVersion})`;
  let Model;
  try {
    // core group "v1" lives in kubernetes-models/v1, others in kubernetes-models/<group>/<version>
    Model = require(`kubernetes-models/${doc.apiVersion}`)[doc.kind];
  } catch (e) {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    console.error(`INVALID ${id}: no schema for this apiVersion/kind`);
    failures++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok      ${id}`);
  } catch (e) {
    console.error(`INVALID ${id}: ${e.message}`);
    failures++;
  }
}
if (docs.length === 0) {
  console.error("no objects on standard input");
  process.exit(1);
}
console.log(`${docs.length - failures} of ${docs.length} objects valid`);
process.exit(failures === 0 ? 0 : 1);
