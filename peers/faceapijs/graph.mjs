// Runs a tfjs graph model (model.json + weight shards on disk) once, on the tfjs wasm backend,
// as a reference for our ONNX conversion (src/faceapi/engine/models/tfjs_graph.py).
//
// stdin: one JSON object
//   {"model": "/abs/path/model.json", "shape": [N, ...], "input": "<base64 float32 LE>"}
// stdout: one JSON line
//   {"ok": true, "versions": {...}, "shape": [...], "output": "<base64 float32 LE>"}
// or {"ok": false, "error": "..."}. Float32 travels as bytes so no digit is lost to JSON.
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// stdout carries the answer alone: library chatter goes to stderr.
console.log = console.error;
console.info = console.error;

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

const here = path.dirname(fileURLToPath(import.meta.url));
// The wasm binaries ship in the npm package: never fetch them.
const WASM_DIR = `${path.join(here, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')}${path.sep}`;

// An IO handler over local files: tfjs (without tfjs-node) has none for file paths.
function fileHandler(modelPath) {
  const folder = path.dirname(modelPath);
  const loadWeights = async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const shards = await Promise.all(
      manifest.flatMap((group) => group.paths).map((shard) => fs.readFile(path.join(folder, shard))),
    );
    const bytes = Buffer.concat(shards);
    return [specs, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)];
  };
  return {
    load: async () => tf.io.getModelArtifactsForJSON(
      JSON.parse(await fs.readFile(modelPath, 'utf8')),
      loadWeights,
    ),
  };
}

function float32FromBase64(text) {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

async function run({ model: modelPath, shape, input }) {
  wasm.setWasmPaths(WASM_DIR);
  await tf.setBackend('wasm');
  await tf.ready();
  const model = await tf.loadGraphModel(fileHandler(modelPath));
  const x = tf.tensor(float32FromBase64(input), shape, 'float32');
  const y = model.execute(x);
  const output = await y.data();
  const answer = {
    ok: true,
    versions: { tfjs: tf.version.tfjs, backend: tf.getBackend() },
    shape: y.shape,
    output: Buffer.from(output.buffer, output.byteOffset, output.byteLength).toString('base64'),
  };
  tf.dispose([x, y]);
  return answer;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  let answer;
  try {
    answer = await run(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch (error) {
    answer = { ok: false, error: String(error?.stack ?? error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

main();
