// UI step of the pt-br run only (LLM_LENS_LOCALE=pt-br): the commands, the walkthrough, the analysis
// panel and the model card in Brazilian Portuguese.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { clickIn, scrollTo, selectLines } = require('../lib/analysisSteps');
const { openWalkthrough } = require('./walkthrough');

module.exports = {
  title: 'in Brazilian Portuguese: walkthrough, analysis panel (tokens, layers) and model card',
  locales: ['pt-br'],
  async run(ui) {
    await openWalkthrough(ui, 'Primeiros Passos com o LLM Lens', 'Abra um exemplo');
    await ui.clearNotifications();
    await ui.screenshot('walkthrough-pt-br');
    await ui.closeAllEditors();

    await ui.openFile('portugues.md');
    await selectLines(ui, 3, 5);
    await ui.runCommand('LLM Lens: Analisar Seleção'); // the manifest's title, from package.nls.pt-br.json
    let { frame } = await ui.webview('analysis', /token 1 de \d+/, { timeoutMs: 60_000 });
    await clickIn(frame, '#tab-tokens');
    const text = await ui.webviewText('analysis', /caracteres por token/);
    ui.assert.match(text, /Um modelo nunca vê letras nem palavras/);
    ui.assert.match(text, /Camadas/);
    await ui.clearNotifications();
    await scrollTo(frame, 'body');
    await ui.screenshot('analysis-panel-pt-br');
    await clickIn(frame, '#tab-layers');
    ({ frame } = await ui.webview('analysis', /Camada por camada[\s\S]*Entrada \(embedding\)/));
    await ui.screenshot('analysis-layers-pt-br');
    // The Why tab: its headings and explanations in Portuguese.
    await clickIn(frame, '#tab-why');
    ({ frame } = await ui.webview('analysis', /O que o modelo espera depois de[\s\S]*Continuações candidatas[\s\S]*atribuição direta de logits/, { timeoutMs: 60_000 }));
    await scrollTo(frame, 'body');
    await ui.screenshot('analysis-why-pt-br');
    await clickIn(frame, '#tab-tokens');

    await ui.runCommand('LLM Lens: Mostrar Cartão do Modelo');
    ({ frame } = await ui.webview('modelCard', /Parâmetros: [\d.,]+/, { timeoutMs: 90_000 }));
    const card = await ui.webviewText('modelCard', /As ideias por trás dos números/);
    ui.assert.match(card, /dimensões \(d\)/);
    // The file size in pt-BR number format with a unit (it once read "7,94 mi de bytes").
    ui.assert.match(card, /arquivo do modelo: \d+(,\d+)? MB/);
    ui.assert.match(card, /Um parâmetro é um número que o modelo aprendeu no treinamento/);
    await ui.clearNotifications();
    await ui.screenshot('model-card-pt-br');
    await frame.evaluate(() => document.querySelector('h2:nth-of-type(3)')?.scrollIntoView());
    await ui.screenshot('model-card-concepts-pt-br');
  },
};
