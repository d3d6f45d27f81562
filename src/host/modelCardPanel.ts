// The model card panel: what the loaded model is, where its parameters sit, what the lens can see
// inside it, and the ideas behind the numbers, each paragraph filled with this model's figures.
import * as vscode from 'vscode';
import type { CommonWebviewMessage, ModelCardState } from '../protocol/webview';
import type { PanelView, OpenPanel } from './panelController';
import { modelCardRows } from './modelCardData';
import { modelCardStrings } from './panelStrings';
import type { CurrentModel, ModelService } from './modelService';
import type { Logger } from '../core/common/logger';
import { foundCount } from '../protocol/analysis';
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
  const d = spec.dModel;
  const t = vscode.l10n.t;
  const concepts = [
    {
      title: t('Parameter'),
      text: t('A parameter is one number the model learned in training. This model has {0} of them. Training nudged each one, a little at a time, until the model got better at predicting the next token; now they are fixed, and everything the model does is arithmetic with them.', n(p.total)),
    },
    {
      title: t('Weight'),
      text: t('Most parameters are weights: the entries of matrices that a vector is multiplied by. Here {0} of the parameters are weights; a single attention block alone holds four d × d matrices, 4 × {1}² = {2} weights.', n(p.weights), d, n(4 * d * d)),
    },
    {
      title: t('Bias'),
      text: t('A bias is a number added after a multiplication, one per output value, letting the layer shift its result. Biases are few: {0} of the {1} parameters ({2}).', n(p.biases), n(p.total), pct(p.total ? p.biases / p.total : 0)),
    },
    {
      title: t('Embedding'),
      text: t('Every token id selects one row of the token embedding matrix ({0} × {1}): the token’s vector of {1} numbers. A second matrix adds a vector for the token’s position in the text (one row for each of {2} positions). The Embeddings view shows these vectors.', n(spec.vocabSize), d, n(spec.nCtx)),
    },
    {
      title: t('Dimension'),
      text: t('d = {0} is the length of every vector inside the model: of each embedding and of what each layer reads and writes. Each dimension is one axis of the space tokens live in; meaning is spread over many axes rather than stored in one.', d),
    },
    {
      title: t('Layer'),
      text: t('The {0} layers run one after another. Each reads every token’s vector, lets attention bring in information from earlier tokens, passes each vector through a small network (the MLP, d → 4d → d), and adds the results back to the vector. Most parameters live in the layers: {1} ({2}). The Layers view shows what each layer changes.', spec.nLayer, n(inLayers), pct(p.total ? inLayers / p.total : 0)),
    },
    {
      title: t('Attention head'),
      text: t('Each layer splits its attention into {0} heads of {1} dimensions ({0} × {1} = {2}). A head decides, for every token, how much each earlier token matters (its weights add up to 100%) and copies information from those tokens. Different heads learn different habits. The Attention view shows every one.', spec.nHead, spec.headDim, d),
    },
  ];
  const none = t('not found');
  const found: [string, string][] = [
    [t('Token embeddings'), ins.tokenEmbedding ?? none],
    [t('Position embeddings'), ins.positionEmbedding ?? none],
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
            : ins.lmHead,
    ],
  ];
  if (ins.layerNorm) found.push([t('Layer norms in the graph'), ins.layerNorm === 'fused' ? t('fused (LayerNormalization)') : ins.layerNorm === 'decomposed' ? t('written out (mean, variance, scale)') : t('mixed')]);
  if (ins.opset !== undefined) found.push([t('ONNX opset'), String(ins.opset)]);
  const constantsNote =
    p.constants && p.constants.tensors > 0
      ? t('The graph also holds {0} constants ({1} numbers: causal masks, shapes) that are not parameters and are not counted.', n(p.constants.tensors), n(p.constants.elements))
      : undefined;
  const total = p.formula ? { formula: p.formula, matches: p.formulaValue === p.total } : undefined;
  // The core names the bundled model's source 'built-in'; the card shows it in the display language.
  const source = spec.source === 'built-in' ? t('built-in') : spec.source;
  return { spec: { ...spec, source }, parameters: p, instrumentation: ins, rows, concepts, found, missing: ins.missing, total, constantsNote };
}
