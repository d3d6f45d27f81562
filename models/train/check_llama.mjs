// Checks a Llama-family test model folder written by make_llama_testmodels.py against its
// reference.json (PyTorch): every variant listed there (fp32 onnx/model.onnx, q4 onnx/model_q4.onnx,
// q8 onnx/model_quantized.onnx, or the onnxruntime-genai model.onnx) is loaded with
// onnxruntime-node, run on the reference ids (past length 0, position_ids 0..t-1), and compared:
//   logits at 0 and t-1: fp32 / fused within 1e-4 of PyTorch; q4 / q8 within `tolerance_vs_simulated`
//     of a PyTorch simulation of the same quantized arithmetic, and within `bound_vs_fp32`
//     (= max |simulation - fp32| + tolerance_vs_simulated) of fp32 PyTorch;
//   the residual stream and attention probabilities, read at the tensors named in `taps` (added as
//     graph outputs, as the lens instruments a model), within 1e-4 for fp32 / fused;
//   fp16 / q4f16 run as published (onnxruntime's float16 arithmetic, past key/values in the graph's own type,
//     "io" in reference.json): logits within `tolerance_vs_simulated` of the float32 simulation of the rounded
//     weights, hidden states and attention measured against fp32 PyTorch (the lens reads these files upcast to
//     float32, which test/unit/llamaLens.test.ts checks to float rounding);
//   greedy generation: 16 tokens recomputed without cache must equal PyTorch's (fp32 / fused), and
//     generation with the KV cache (presents fed back as past) must equal the uncached one.
// Also: @huggingface/tokenizers gives the reference ids for the text and decodes them back, and
// (transformers.js layout) @huggingface/transformers loads the folder and generates the same tokens.
// Prints a table; exits 1 on any failure.
//   node models/train/check_llama.mjs <folder> [--json measured.json] [--no-transformers]
// A folder without reference.json (the real shapes) is only loaded and timed: session creation, one
// forward pass over a 16-token prompt, and 16 greedy tokens with the KV cache, per ONNX file.
//   node models/train/check_llama.mjs models/train/work/testmodels/smollm2-135m
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { Tokenizer } from '@huggingface/tokenizers';

const { onnx } = onnxProto;
const argv = process.argv.slice(2);
const dir = resolve(argv.find((a) => !a.startsWith('--')) ?? '.');
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : null;
const withTransformers = !argv.includes('--no-transformers');
if (!existsSync(join(dir, 'reference.json'))) {
  await bench();
  process.exit(0);
}
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
const cfg = ref.config;
const L = cfg.num_hidden_layers;
const KV = cfg.num_key_value_heads;
const HD = cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads;
const V = cfg.vocab_size;
const D = cfg.hidden_size;
const t = ref.ids.length;
const POS = [0, t - 1];
const TOL = 1e-4;

let failures = 0;
const fail = (m) => { failures++; console.error('FAIL ' + m); };
const p2 = (x) => Number(x.toPrecision(2));
const measured = {};

// ---- tokenizer ------------------------------------------------------------------------------
{
  const tk = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  const ids = tk.encode(ref.text).ids;
  const same = ids.length === t && ids.every((v, i) => v === ref.ids[i]);
  const back = tk.decode(ids, { skip_special_tokens: false });
  console.log(`tokenizer: ${ids.length} ids, ${same ? 'equal to' : 'DIFFERENT from'} the Python reference; decode ${back === ref.text ? 'round-trips' : 'DIFFERS'}`);
  if (!same) fail(`tokenizer ids ${JSON.stringify(ids)} != ${JSON.stringify(ref.ids)}`);
  if (back !== ref.text) fail(`decode gives ${JSON.stringify(back)}`);
  measured.tokenizer = { ids_equal: same, round_trip: back === ref.text };
}

// ---- sessions with the taps exposed ------------------------------------------------------------
const FLOAT = onnx.TensorProto.DataType.FLOAT;
function exposeTaps(model, taps, half = false) {
  const g = model.graph;
  const out = { hidden: [], attention: {} };
  // A float16 graph's taps have the type its value info gives, else float16 (onnx's shape inference, which the
  // converter runs, stops at com.microsoft ops: q4f16 has no value info after the first MatMulNBits).
  const declared = new Map((g.valueInfo ?? []).map((v) => [v.name, v.type?.tensorType?.elemType]));
  const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
  const addOutput = (name) => {
    if (!g.output.some((o) => o.name === name)) {
      g.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: declared.get(name) ?? (half ? FLOAT16 : FLOAT) } } }));
    }
    return name;
  };
  for (const h of taps.hidden ?? []) out.hidden.push(addOutput(h));
  if (taps.hidden_final_sum_of_inputs) {
    const { node, inputs } = taps.hidden_final_sum_of_inputs;
    const n = g.node.find((x) => x.name === node);
    if (!n) throw new Error(`no node ${node}`);
    const name = 'check/final_residual';
    g.node.push(onnx.NodeProto.create({ opType: 'Add', name, input: inputs.map((i) => n.input[i]), output: [name] }));
    out.hidden.push(addOutput(name));
  }
  for (const [layer, name] of Object.entries(taps.attention ?? {})) out.attention[layer] = addOutput(name);
  return out;
}

async function open(variant) {
  const file = join(dir, variant.file);
  const model = onnx.ModelProto.decode(readFileSync(file));
  const taps = exposeTaps(model, variant.taps ?? {}, variant.io !== undefined);
  const bytes = onnx.ModelProto.encode(model).finish();
  const options = {};
  if (variant.external_data) {
    options.externalData = [{ path: basename(variant.external_data), data: readFileSync(join(dir, variant.external_data)) }];
  }
  const session = await ort.InferenceSession.create(bytes, options);
  return { session, taps };
}

// float16 bit patterns (onnxruntime-node returns them as Uint16Array) as numbers.
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
const f32 = (t) => (t.type === 'float16' ? Float32Array.from(t.data, halfToFloat) : t.data);
let pastType = 'float32';

const i64 = (a, dims) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);
async function run(session, ids, past = null, start = 0) {
  const n = ids.length;
  const feeds = {
    input_ids: i64(ids, [1, n]),
    attention_mask: i64(new Array(start + n).fill(1), [1, start + n]),
  };
  if (session.inputNames.includes('position_ids')) feeds.position_ids = i64(ids.map((_, i) => start + i), [1, n]);
  for (let i = 0; i < L; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = past?.[`present.${i}.${kv}`] ??
        (pastType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), [1, KV, 0, HD]) : new ort.Tensor('float32', new Float32Array(0), [1, KV, 0, HD]));
    }
  }
  return session.run(feeds);
}

function maxDiff(data, offset, refRow) {
  let m = 0;
  for (let i = 0; i < refRow.length; i++) m = Math.max(m, Math.abs(data[offset + i] - refRow[i]));
  return m;
}
const argmaxLast = (logits, n) => {
  const row = f32(logits).subarray((n - 1) * V, n * V);
  let best = 0;
  for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
  return best;
};

async function greedy(session, prompt, steps, cached) {
  const ids = [...prompt];
  if (!cached) {
    for (let s = 0; s < steps; s++) ids.push(argmaxLast((await run(session, ids)).logits, ids.length));
    return ids.slice(prompt.length);
  }
  let out = await run(session, ids);
  ids.push(argmaxLast(out.logits, ids.length));
  while (ids.length < prompt.length + steps) {
    out = await run(session, [ids[ids.length - 1]], out, ids.length - 1);
    ids.push(argmaxLast(out.logits, 1));
  }
  return ids.slice(prompt.length);
}

// ---- variants ------------------------------------------------------------------------------------
const rows = [];
for (const [name, variant] of Object.entries(ref.variants)) {
  const exact = !variant.simulated_logits;
  pastType = variant.io ?? 'float32';
  const { session, taps } = await open(variant);
  const out = await run(session, ref.ids);
  const logits = f32(out.logits);
  const vsFp32 = Math.max(...POS.map((p) => maxDiff(logits, p * V, ref.logits[String(p)])));
  const m = { logits_vs_pytorch_fp32: p2(vsFp32) };
  if (exact) {
    if (!(vsFp32 <= variant.tolerance)) fail(`${name}: logits differ from PyTorch by ${vsFp32} > ${variant.tolerance}`);
  } else {
    const vsSim = Math.max(...POS.map((p) => maxDiff(logits, p * V, variant.simulated_logits[String(p)])));
    m.logits_vs_simulated = p2(vsSim);
    if (!(vsSim <= variant.tolerance_vs_simulated)) fail(`${name}: logits differ from the simulation by ${vsSim} > ${variant.tolerance_vs_simulated}`);
    if (!(vsFp32 <= variant.bound_vs_fp32)) fail(`${name}: logits differ from fp32 PyTorch by ${vsFp32} > bound ${variant.bound_vs_fp32}`);
  }
  let hid = 0;
  taps.hidden.forEach((h, i) => {
    const data = f32(out[h]);
    ref.hidden_positions.forEach((p, k) => { hid = Math.max(hid, maxDiff(data, p * D, ref.hidden[i][k])); });
  });
  if (taps.hidden.length) {
    if (taps.hidden.length !== L + 1) fail(`${name}: ${taps.hidden.length} hidden taps, expected ${L + 1}`);
    m.hidden_max_abs = p2(hid);
    if (exact && !(hid <= TOL)) fail(`${name}: hidden states differ by ${hid}`);
  }
  let att = 0;
  let attLayers = 0;
  for (const [layer, probs] of Object.entries(ref.attention)) {
    const tap = taps.attention[layer];
    if (!tap) continue;
    attLayers++;
    const data = f32(out[tap]); // [1, heads, t, t]
    probs.forEach((head, h) => head.forEach((row, q) => { att = Math.max(att, maxDiff(data, (h * t + q) * t, row)); }));
  }
  if (attLayers) {
    m.attention_max_abs = p2(att);
    if (exact && !(att <= TOL)) fail(`${name}: attention probabilities differ by ${att}`);
  }
  const prompt = ref.greedy.prompt_ids;
  const steps = ref.greedy.new_ids.length;
  const unc = await greedy(session, prompt, steps, false);
  const cac = await greedy(session, prompt, steps, true);
  m.greedy_uncached_equals_pytorch = unc.every((v, i) => v === ref.greedy.new_ids[i]);
  if (!exact) {
    // The simulation's greedy tokens must come out unless a step's top-2 gap is within 2x the tolerance.
    const sg = variant.simulated_greedy;
    m.greedy_uncached_equals_simulation = unc.every((v, i) => v === sg.new_ids[i]);
    if (sg.min_top2_gap > 2 * variant.tolerance_vs_simulated && !m.greedy_uncached_equals_simulation) {
      fail(`${name}: greedy ${unc} != simulation ${sg.new_ids}`);
    }
  }
  m.greedy_cached_equals_uncached = cac.every((v, i) => v === unc[i]);
  if (exact && !m.greedy_uncached_equals_pytorch) fail(`${name}: greedy ${unc} != PyTorch ${ref.greedy.new_ids}`);
  if (exact && !m.greedy_cached_equals_uncached) fail(`${name}: greedy with cache ${cac} != without ${unc}`);
  measured[name] = m;
  rows.push([name, variant.file, m.logits_vs_pytorch_fp32, m.logits_vs_simulated ?? '-', exact ? variant.tolerance : variant.bound_vs_fp32,
    m.hidden_max_abs ?? '-', m.attention_max_abs ?? '-',
    (m.greedy_uncached_equals_pytorch ? 'yes' : 'no') + (exact ? '' : m.greedy_uncached_equals_simulation ? ' (=sim)' : ' (!=sim)'),
    m.greedy_cached_equals_uncached ? 'yes' : 'no']);
}

// ---- transformers.js loads the folder -----------------------------------------------------------
if (withTransformers && existsSync(join(dir, 'config.json')) && ref.layout === 'transformers.js') {
  const { AutoModelForCausalLM, AutoTokenizer, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir) + '/';
  const tok = await AutoTokenizer.from_pretrained(basename(dir));
  const ids = Array.from(tok.encode(ref.text));
  if (ids.join() !== ref.ids.join()) fail(`transformers.js tokenizer ids ${ids} != ${ref.ids}`);
  const dtypes = { fp32: 'fp32', q4: 'q4', q8: 'q8', fp16: 'fp16', q4f16: 'q4f16' };
  measured.transformers_js = {};
  for (const name of Object.keys(ref.variants)) {
    const model = await AutoModelForCausalLM.from_pretrained(basename(dir), { dtype: dtypes[name] });
    const prompt = ref.greedy.prompt_ids;
    const input = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
    const outIds = await model.generate({ input_ids: input, attention_mask: new Tensor('int64', BigInt64Array.from(prompt.map(() => 1n)), [1, prompt.length]), max_new_tokens: ref.greedy.new_ids.length, do_sample: false });
    const gen = Array.from(outIds.data, Number).slice(prompt.length);
    // fp32 must give PyTorch's greedy tokens; q4 / q8 those of their simulation (when no step is a
    // near tie). generate() stops early at eos, so the prefix is compared.
    const variant = ref.variants[name];
    const sg = variant.simulated_greedy;
    const expect = (sg ? sg.new_ids : ref.greedy.new_ids).slice(0, gen.length);
    const same = gen.length > 0 && gen.every((v, i) => v === expect[i]);
    measured.transformers_js[name] = { generated: gen.length, [sg ? 'equals_simulated_greedy' : 'equals_pytorch_greedy']: same };
    console.log(`transformers.js ${name} (${variant.file}): generate() gave ${gen.length} tokens, ${same ? 'equal to' : 'different from'} ${sg ? 'the simulation' : 'PyTorch'}`);
    if (!same && (!sg || sg.min_top2_gap > 2 * variant.tolerance_vs_simulated)) fail(`transformers.js ${name} generate ${gen} != ${expect}`);
    await model.dispose();
  }
}

const head = ['variant', 'file', '|Δlogits| vs fp32', 'vs sim', 'bound', '|Δhidden|', '|Δattn|', 'greedy=PT', 'cache=nocache'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
console.log(line(head));
for (const r of rows) console.log(line(r));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(measured, null, 1));
if (failures) {
  console.error(`${failures} failures`);
  process.exit(1);
}
console.log(`${basename(dir)}: OK`);

// ---- timing of a folder without reference.json ----------------------------------------------------
async function bench() {
  const i64 = (a, dims) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);
  const genai = existsSync(join(dir, 'genai_config.json'));
  const c = genai ? JSON.parse(readFileSync(join(dir, 'genai_config.json'), 'utf8')).model.decoder
    : JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const nL = c.num_hidden_layers;
  const nKV = c.num_key_value_heads;
  const hd = c.head_dim ?? c.head_size ?? c.hidden_size / c.num_attention_heads;
  const files = genai ? ['model.onnx'] : ['onnx/model.onnx', 'onnx/model_q4.onnx', 'onnx/model_quantized.onnx']
    .filter((f) => existsSync(join(dir, f)));
  const tk = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  const prompt = tk.encode('The café opened in 1987 and sells 42 coffees; it is near the station.').ids.slice(0, 16);
  const sizeOf = (f) => {
    let n = statSync(join(dir, f)).size;
    for (const ext of [f + '_data', f + '.data']) if (existsSync(join(dir, ext))) n += statSync(join(dir, ext)).size;
    return n;
  };
  console.log(`${basename(dir)}: ${nL} layers, ${nKV} kv heads x ${hd}; prompt ${prompt.length} tokens; ${(await import('node:os')).cpus().length} CPUs`);
  for (const f of files) {
    let t0 = performance.now();
    const session = await ort.InferenceSession.create(join(dir, f));
    const load = performance.now() - t0;
    const feed = (ids, past, start) => {
      const n = ids.length;
      const feeds = { input_ids: i64(ids, [1, n]), attention_mask: i64(new Array(start + n).fill(1), [1, start + n]) };
      if (session.inputNames.includes('position_ids')) feeds.position_ids = i64(ids.map((_, i) => start + i), [1, n]);
      for (let i = 0; i < nL; i++) for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kv}`] = past?.[`present.${i}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, nKV, 0, hd]);
      }
      return feeds;
    };
    const last = (out, n) => {
      const vocab = out.logits.dims[2];
      const row = out.logits.data.subarray((n - 1) * vocab, n * vocab);
      let b = 0;
      for (let i = 1; i < vocab; i++) if (row[i] > row[b]) b = i;
      return b;
    };
    t0 = performance.now();
    await session.run(feed(prompt, null, 0));
    const first = performance.now() - t0;
    t0 = performance.now();
    let out = await session.run(feed(prompt, null, 0));
    const fwd = performance.now() - t0;
    const ids = [...prompt, last(out, prompt.length)];
    t0 = performance.now();
    while (ids.length < prompt.length + 16) {
      out = await session.run(feed([ids[ids.length - 1]], out, ids.length - 1));
      ids.push(last(out, 1));
    }
    const gen = performance.now() - t0;
    console.log(`  ${f}: ${(sizeOf(f) / 1e6).toFixed(0)} MB, session ${(load / 1000).toFixed(1)} s, ` +
      `forward of ${prompt.length} tokens ${first.toFixed(0)} ms (first) / ${fwd.toFixed(0)} ms, ` +
      `16 greedy tokens with cache ${gen.toFixed(0)} ms (${(gen / 15).toFixed(0)} ms/token after the prompt)`);
    await session.release();
  }
}
