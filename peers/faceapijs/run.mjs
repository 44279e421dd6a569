// face-api.js (@vladmandic/face-api) run as shipped, on the tfjs wasm backend, as a JSON-lines
// peer: one request per stdin line, one answer per stdout line, in order.
//
// Every request carries the image as raw pixels so the caller decodes it once:
//   {"id": 1, "kind": "pipeline", "width": W, "height": H, "rgb": "<base64 of H*W*3 uint8>",
//    "crop": false}
//   {"id": 2, "kind": "nets", "width": W, "height": H, "rgb": "...", "box": [x, y, w, h]}
// Answers echo the id: {"id": 1, "ok": true, "face": {...} | null} or {"id": 2, "ok": true,
// "age": a, "male_probability": p, "expressions": [7 floats]}; failures {"id", "ok": false, "error"}.
// The first line written is {"ready": true, "versions": {...}} once the models are loaded.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

// stdout carries the protocol alone: library chatter goes to stderr.
console.log = console.error;
console.info = console.error;

// CommonJS require, so face-api's bundle and this file share one tfjs instance.
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, 'node_modules');
const MODEL_DIR = path.join(modules, '@vladmandic', 'face-api', 'model');
// The wasm binaries ship in the npm package: never fetch them.
const WASM_DIR = `${path.join(modules, '@tensorflow', 'tfjs-backend-wasm', 'dist')}${path.sep}`;
const EXPRESSION_LABELS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];

async function loadModels() {
  wasm.setWasmPaths(WASM_DIR);
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(MODEL_DIR);
  await faceapi.nets.ageGenderNet.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceExpressionNet.loadFromDisk(MODEL_DIR);
}

// int32 HxWx3, the layout tf.node.decodeImage gives a face-api.js user.
function imageTensor({ width, height, rgb }) {
  const pixels = Buffer.from(rgb, 'base64');
  if (pixels.length !== width * height * 3) {
    throw new Error(`rgb has ${pixels.length} bytes, expected ${width}x${height}x3`);
  }
  return tf.tensor3d(Int32Array.from(pixels), [height, width, 3], 'int32');
}

function boxJson(box) {
  return [box.x, box.y, box.width, box.height];
}

function expressionsJson(expressions) {
  return Object.fromEntries(EXPRESSION_LABELS.map((label) => [label, expressions[label]]));
}

function largest(results) {
  const area = (r) => r.detection.box.width * r.detection.box.height;
  return results.reduce((best, r) => (best === null || area(r) > area(best) ? r : best), null);
}

// The chain the face-api.js tutorial gives for age, gender and expressions, with default
// SSD MobileNet v1 options; the nets see each face's landmark-aligned box.
async function detectLargestFace(image) {
  const results = await faceapi
    .detectAllFaces(image, new faceapi.SsdMobilenetv1Options())
    .withFaceLandmarks()
    .withFaceExpressions()
    .withAgeAndGender();
  const face = largest(results);
  if (face === null) return null;
  return {
    box: boxJson(face.detection.box),
    score: face.detection.score,
    aligned_box: boxJson(face.alignedRect.box),
    age: face.age,
    gender: face.gender,
    genderProbability: face.genderProbability,
    expressions: expressionsJson(face.expressions),
  };
}

// The whole frame is the face: the nets' own pad-to-square and resize still apply.
async function analyseCrop(image) {
  const { age, gender, genderProbability } = await faceapi.nets.ageGenderNet.predictAgeAndGender(image);
  const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(image);
  const [height, width] = image.shape;
  return {
    box: [0, 0, width, height],
    score: null,
    aligned_box: [0, 0, width, height],
    age,
    gender,
    genderProbability,
    expressions: expressionsJson(expressions),
  };
}

async function runPipeline(request) {
  const image = imageTensor(request);
  try {
    return { face: request.crop ? await analyseCrop(image) : await detectLargestFace(image) };
  } finally {
    image.dispose();
  }
}

// Raw net outputs for one box, cut out exactly as the pipeline cuts out a detected face.
async function runNets(request) {
  const image = imageTensor(request);
  const [x, y, width, height] = request.box;
  const faces = await faceapi.extractFaceTensors(image, [new faceapi.Rect(x, y, width, height)]);
  image.dispose();
  if (faces.length === 0) throw new Error(`box ${request.box} is empty inside the image`);
  const [face] = faces;
  try {
    const ageGender = await faceapi.nets.ageGenderNet.forward(face);
    const expressions = await faceapi.nets.faceExpressionNet.forward(face);
    const answer = {
      age: (await ageGender.age.data())[0],
      male_probability: (await ageGender.gender.data())[0],
      expressions: Array.from(await expressions.data()),
    };
    tf.dispose([ageGender.age, ageGender.gender, expressions]);
    return answer;
  } finally {
    face.dispose();
  }
}

const HANDLERS = { pipeline: runPipeline, nets: runNets };

async function answer(line) {
  let id = null;
  try {
    const request = JSON.parse(line);
    id = request.id ?? null;
    const handler = HANDLERS[request.kind];
    if (!handler) throw new Error(`unknown kind ${JSON.stringify(request.kind)}`);
    return { id, ok: true, ...(await handler(request)) };
  } catch (error) {
    return { id, ok: false, error: String(error?.stack ?? error) };
  }
}

async function main() {
  await loadModels();
  const versions = { faceapi: faceapi.version, tfjs: tf.version.tfjs, backend: tf.getBackend() };
  process.stdout.write(`${JSON.stringify({ ready: true, versions })}\n`);
  // Requests are answered one at a time, in the order they arrive.
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim()) process.stdout.write(`${JSON.stringify(await answer(line))}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
