// The model card panel: what the loaded model is, where its parameters sit, what the lens can see
// inside it, and the ideas behind the numbers, each paragraph filled with this model's figures.
import * as vscode from 'vscode';
import type { CommonWebviewMessage, ModelCardState } from '../protocol/webview';
import type { PanelView, OpenPanel } from './panelController';
import { hasQkvBias, mlpWidth, modelCardRows, wholeModelFormula } from './modelCardData';
import { modelCardStrings } from './panelStrings';
import type { CurrentModel, ModelService } from './modelService';
import type { Logger } from '../core/common/logger';
import { foundCount, type ModelSpec, type ParameterBreakdown } from '../protocol/analysis';
import { errorMessage } from '../core/common/errors';
import { COMMANDS } from './commands';

export class ModelCardPanel implements PanelView<'modelCard'>, vscode.Disposable {
  readonly id = 'modelCard' as const;
  private panel: OpenPanel<'modelCard'> | undefined;
  private error: string | undefined;
  private readonly subs: vscode.Disposable[];

  constructor(
    private readonly models: ModelService,
    private readonly log: Logger,
  ) {
    this.subs = [
      models.onDidLoad(() => void this.panel?.refresh()),
      models.onDidChangeModel(() => {
        this.error = undefined;
        void this.panel?.refresh();
      }),
    ];
  }

  title(): string {
    return vscode.l10n.t('LLM Lens: Model Card');
  }

  attached(panel: OpenPanel<'modelCard'>): void {
    this.panel = panel;
  }

  detached(): void {
    this.panel = undefined;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }

  async state(): Promise<ModelCardState> {
    const strings = modelCardStrings();
    const locale = vscode.env.language;
    const model = this.models.current;
    if (model) return { view: 'modelCard', strings, locale, busy: false, card: modelCard(model) };
    if (this.error) {
      return {
        view: 'modelCard',
        strings,
        locale,
        busy: false,
        notice: { kind: 'error', message: vscode.l10n.t('The model could not be loaded: {0}', this.error), action: { label: vscode.l10n.t('Show Log'), command: 'showLog' } },
      };
    }
    // First use: load in the background; onDidLoad refreshes the panel.
    this.models.ensureLoaded().then(
      () => (this.error = undefined),
      (e: unknown) => {
        this.error = errorMessage(e);
        this.log.error(e instanceof Error ? e : String(e));
        void this.panel?.refresh();
      },
    );
    return { view: 'modelCard', strings, locale, busy: true };
  }

  async onMessage(m: CommonWebviewMessage): Promise<void> {
    if (m.type !== 'command') return;
    if (m.command === 'refresh') {
      this.error = undefined;
      await this.panel?.refresh();
    } else if (m.command === 'showLog') await vscode.commands.executeCommand(COMMANDS.showLog);
    else if (m.command === 'analyzeSelection') await vscode.commands.executeCommand(COMMANDS.analyzeSelection);
  }
}

export function modelCard(m: CurrentModel): NonNullable<ModelCardState['card']> {
  const { spec, parameters: p, instrumentation: ins } = m;
  const locale = vscode.env.language;
  const n = (x: number) => new Intl.NumberFormat(locale).format(x);
  const pct = (x: number) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(x);
  const rows = modelCardRows(spec, p);
  const inLayers = rows.filter((r) => r.layers !== undefined).reduce((s, r) => s + r.total, 0);
  const t = vscode.l10n.t;
  const llama = spec.architecture === 'llama';
  const concepts = llama ? llamaConcepts(spec, p, inLayers, n, pct) : gpt2Concepts(spec, p, inLayers, n, pct);
  const none = t('not found');
  const found: [string, string][] = [
    [t('Token embeddings'), ins.tokenEmbedding ?? none],
    // A Llama-family graph has no position table to find: its positions are rotations inside attention.
    [t('Position embeddings'), ins.positionEmbedding ?? (llama ? t('none: rotary positions, applied inside attention') : none)],
    [t('Hidden state entering each layer'), t('{0} of {1} layers', ins.layerInputs.length, spec.nLayer)],
    [t('Attention weights'), t('{0} of {1} layers', foundCount(ins.attentionProbs), spec.nLayer)],
    [t('Final norm'), ins.finalNorm ?? none],
    [
      t('Output layer (LM head)'),
      ins.lmHead === undefined
        ? none
        : ins.lmHeadTied === 'same'
          ? t('{0} (the token embedding, tied)', ins.lmHead)
          : ins.lmHeadTied === 'copy'
            ? t('{0} (a transposed copy of the token embedding, tied)', ins.lmHead)
            : ins.lmHeadTied === 'declared'
              ? t('{0} (quantized; tied to the token embedding, as config.json says)', ins.lmHead)
              : ins.lmHead,
    ],
  ];
  const norms: Record<NonNullable<typeof ins.layerNorm>, string> = {
    fused: t('fused (LayerNormalization)'),
    decomposed: t('written out (mean, variance, scale)'),
    rms: t('RMS norms written out (square, mean, root, scale)'),
    rmsFused: t('fused RMS norms (SimplifiedLayerNormalization)'),
    mixed: t('mixed'),
  };
  if (ins.layerNorm) found.push([t('Layer norms in the graph'), norms[ins.layerNorm]]);
  if (ins.opset !== undefined) found.push([t('ONNX opset'), String(ins.opset)]);
  const constantsNote =
    p.constants && p.constants.tensors > 0
      ? t('The graph also holds {0} constants ({1} numbers: causal masks, shapes) that are not parameters and are not counted.', n(p.constants.tensors), n(p.constants.elements))
      : undefined;
  const total = wholeModelFormula(spec, p);
  // The core names the bundled model's source 'built-in'; the card shows it in the display language.
  const source = spec.source === 'built-in' ? t('built-in') : spec.source;
  return { spec: { ...spec, source }, parameters: p, instrumentation: ins, rows, concepts, found, missing: ins.missing, total, constantsNote };
}

type Concept = { title: string; text: string };
type Fmt = (x: number) => string;

/** The ideas behind a GPT-2 model's numbers: learned positions, LayerNorm, a 4d MLP, biases everywhere. */
function gpt2Concepts(spec: ModelSpec, p: ParameterBreakdown, inLayers: number, n: Fmt, pct: Fmt): Concept[] {
  const t = vscode.l10n.t;
  const d = spec.dModel;
  return [
    parameterConcept(p, n),
    {
      title: t('Weight'),
      text: t('Most parameters are weights: the entries of matrices that a vector is multiplied by. Here {0} of the parameters are weights; a single attention block alone holds four d × d matrices, 4 × {1}² = {2} weights.', n(p.weights), d, n(4 * d * d)),
    },
    biasConcept(p, n, pct),
    {
      title: t('Embedding'),
      text: t('Every token id selects one row of the token embedding matrix ({0} × {1}): the token’s vector of {1} numbers. A second matrix adds a vector for the token’s position in the text (one row for each of {2} positions). The Embeddings view shows these vectors.', n(spec.vocabSize), d, n(spec.nCtx)),
    },
    dimensionConcept(spec),
    {
      title: t('Layer'),
      text: t('The {0} layers run one after another. Each reads every token’s vector, lets attention bring in information from earlier tokens, passes each vector through a small network (the MLP, d → 4d → d), and adds the results back to the vector. Most parameters live in the layers: {1} ({2}). The Layers view shows what each layer changes.', spec.nLayer, n(inLayers), pct(p.total ? inLayers / p.total : 0)),
    },
    headConcept(spec),
  ];
}

/**
 * The ideas behind a Llama-family model's numbers (llama, qwen2), where GPT-2's words would be wrong: no position table
 * (rotary positions), grouped key/value heads, a gated MLP, RMS norms, biases only on q/k/v (qwen2) or none.
 */
function llamaConcepts(spec: ModelSpec, p: ParameterBreakdown, inLayers: number, n: Fmt, pct: Fmt): Concept[] {
  const t = vscode.l10n.t;
  const { dModel: d, nHead: H, nKvHeads: K, headDim: hd } = spec;
  const m = mlpWidth(spec, p);
  const concepts: Concept[] = [
    parameterConcept(p, n),
    {
      title: t('Weight'),
      text: t(
        'Most parameters are weights: the entries of matrices that a vector is multiplied by. Here {0} of the parameters are weights; a single attention block alone holds the query and output matrices (d × H·h_d each) and the key and value matrices (d × H_kv·h_d each): 2 × {1} × {2} + 2 × {1} × {3} = {4} weights.',
        n(p.weights),
        d,
        H * hd,
        K * hd,
        n(2 * d * H * hd + 2 * d * K * hd),
      ),
    },
  ];
  const attentionBiases = p.groups.filter((g) => g.role === 'attention').reduce((s, g) => s + g.biases, 0);
  if (p.biases === 0) {
    concepts.push({ title: t('Bias'), text: t('A bias is a number added after a multiplication, one per output value, letting the layer shift its result. This model has none (Llama leaves them out), so every parameter is a weight.') });
  } else if (attentionBiases === p.biases && hasQkvBias(spec, p)) {
    concepts.push({
      title: t('Bias'),
      text: t(
        'A bias is a number added after a multiplication, one per output value, letting the layer shift its result. This model keeps them only on the query, key and value projections, (H + 2H_kv)·h_d = {0} per layer: {1} of the {2} parameters ({3}).',
        n((H + 2 * K) * hd),
        n(p.biases),
        n(p.total),
        pct(p.total ? p.biases / p.total : 0),
      ),
    });
  } else concepts.push(biasConcept(p, n, pct));
  concepts.push(
    {
      title: t('Embedding'),
      text: t('Every token id selects one row of the token embedding matrix ({0} × {1}): the token’s vector of {1} numbers. No second matrix adds a vector for the token’s position: positions enter later, inside attention (rotary positions, below). The Embeddings view shows these vectors.', n(spec.vocabSize), d),
    },
    {
      title: t('Rotary positions'),
      text: t('Each query and key vector is rotated by an angle that depends on the token’s position (each pair of its dimensions turning at its own speed), so the score between two tokens depends on how far apart they are: attention sees relative positions. There is no position embedding matrix, and the rotation learns nothing: it adds no parameters. This model reads at most {0} tokens at once.', n(spec.nCtx)),
    },
    dimensionConcept(spec),
    {
      title: t('Layer'),
      text: t('The {0} layers run one after another. Each reads every token’s vector, lets attention bring in information from earlier tokens, passes each vector through a small network (the gated MLP, d → {1} → d), and adds the results back to the vector. Most parameters live in the layers: {2} ({3}). The Layers view shows what each layer changes.', spec.nLayer, m === undefined ? 'm' : n(m), n(inLayers), pct(p.total ? inLayers / p.total : 0)),
    },
    {
      title: t('RMS norm'),
      text: t('Before attention and before the MLP, each layer normalizes every token’s vector, and a final norm comes before the output layer. RMS norm divides each vector by its root mean square and multiplies each dimension by a learned weight, with no bias; no mean is subtracted (GPT-2’s LayerNorm subtracts it and adds a bias). That is {0} weights per layer (2d) and {1} in the final norm (d).', n(2 * d), n(d)),
    },
  );
  if (m !== undefined) {
    concepts.push({
      title: t('Gated MLP'),
      text: t('Each layer’s MLP has three matrices: gate and up (d → m, here {0} → {1}) and down (m → d). The gate’s output goes through SiLU and multiplies the up output entry by entry, so the gate decides how much of each of the m values passes; down brings the product back to d dimensions. That is 3d·m = {2} weights per layer, without biases.', d, n(m), n(3 * d * m)),
    });
  }
  concepts.push(headConcept(spec));
  if (K < H) {
    concepts.push({
      title: t('Grouped key/value heads'),
      text: t(
        '{0} query heads share {1} key/value heads, {2} each: the key and value projections are smaller, d × H_kv·h_d = {3} × {4} (the query projection is {3} × {5}), and so is the cache of keys and values kept while generating. Each query head still compares its own query with the shared keys, so heads of one group can look at different tokens. The Attention view shows which heads share.',
        H,
        K,
        n(H / K),
        d,
        K * hd,
        H * hd,
      ),
    });
  }
  return concepts;
}

function parameterConcept(p: ParameterBreakdown, n: Fmt): Concept {
  const t = vscode.l10n.t;
  return {
    title: t('Parameter'),
    text: t('A parameter is one number the model learned in training. This model has {0} of them. Training nudged each one, a little at a time, until the model got better at predicting the next token; now they are fixed, and everything the model does is arithmetic with them.', n(p.total)),
  };
}

function biasConcept(p: ParameterBreakdown, n: Fmt, pct: Fmt): Concept {
  const t = vscode.l10n.t;
  return {
    title: t('Bias'),
    text: t('A bias is a number added after a multiplication, one per output value, letting the layer shift its result. Biases are few: {0} of the {1} parameters ({2}).', n(p.biases), n(p.total), pct(p.total ? p.biases / p.total : 0)),
  };
}

function dimensionConcept(spec: ModelSpec): Concept {
  const t = vscode.l10n.t;
  return {
    title: t('Dimension'),
    text: t('d = {0} is the length of every vector inside the model: of each embedding and of what each layer reads and writes. Each dimension is one axis of the space tokens live in; meaning is spread over many axes rather than stored in one.', spec.dModel),
  };
}

function headConcept(spec: ModelSpec): Concept {
  const t = vscode.l10n.t;
  // H·h_d is d in GPT-2 and in most Llama-family models, but a config may give head_dim apart from d / H.
  return {
    title: t('Attention head'),
    text: t('Each layer splits its attention into {0} heads of {1} dimensions ({0} × {1} = {2}). A head decides, for every token, how much each earlier token matters (its weights add up to 100%) and copies information from those tokens. Different heads learn different habits. The Attention view shows every one.', spec.nHead, spec.headDim, spec.nHead * spec.headDim),
  };
}
