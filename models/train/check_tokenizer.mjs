// Checks that @huggingface/tokenizers loads models/lens-tiny's tokenizer, gives the Python
// reference encoder's ids (test/fixtures/tokenizer-cases.json), and round-trips held-out text
// byte for byte. Exits non-zero on any failure.
//   node models/train/check_tokenizer.mjs [modelDir] [heldout.jsonl]
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelDir = process.argv[2] ?? join(root, 'models', 'lens-tiny');
const heldoutPath = process.argv[3] ?? join(root, 'models', 'train', '.cache', 'corpus', 'heldout.jsonl');

const tokenizer = new Tokenizer(
  JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8')),
);
let failures = 0;
const fail = (msg) => { failures++; console.error('FAIL ' + msg); };
const show = (s) => JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s);

function roundTrip(text, where) {
  const { ids } = tokenizer.encode(text);
  // decode() refuses an empty id list; the empty text is its own round trip.
  const back = ids.length ? tokenizer.decode(ids, { skip_special_tokens: false }) : '';
  if (back !== text) {
    let i = 0;
    while (i < text.length && text[i] === back[i]) i++;
    fail(`${where}: round trip differs at char ${i}: ${show(text.slice(i, i + 40))} vs ${show(back.slice(i, i + 40))}`);
  }
  return ids;
}

const cases = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'tokenizer-cases.json'), 'utf8')).cases;
for (const [k, c] of cases.entries()) {
  const ids = roundTrip(c.text, `case ${k}`);
  if (ids.length !== c.ids.length || ids.some((v, i) => v !== c.ids[i])) {
    const i = ids.findIndex((v, j) => v !== c.ids[j]);
    fail(`case ${k} ${show(c.text)}: ids differ from Python at ${i}: js ${ids.slice(i, i + 5)} py ${c.ids.slice(i, i + 5)}`);
  }
}
console.log(`${cases.length} reference cases checked against Python ids`);

if (existsSync(heldoutPath)) {
  let n = 0, bytes = 0, tokens = 0;
  for (const line of readFileSync(heldoutPath, 'utf8').split('\n')) {
    if (!line) continue;
    const { text } = JSON.parse(line);
    tokens += roundTrip(text, `held-out file ${n}`).length;
    bytes += Buffer.byteLength(text);
    n++;
  }
  console.log(`${n} held-out files round-tripped: ${bytes} bytes, ${tokens} tokens, ${(bytes / tokens).toFixed(2)} bytes/token`);
} else {
  console.log(`no held-out corpus at ${heldoutPath} (run models/train/build_corpus.py); skipped`);
}
if (failures) {
  console.error(`${failures} failures`);
  process.exit(1);
}
console.log('tokenizer OK');
