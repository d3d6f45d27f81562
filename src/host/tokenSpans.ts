// Where each token of a worker's answer sits in the text it was asked about, when the answer gives tokens as
// {id, text} only (occlusion): token texts laid end to end. A token that is part of a character (its text is
// U+FFFD) shares that character's span with its neighbours, as the analysis' spans do. No vscode import.

export interface Span {
  start: number;
  end: number;
}

const REPLACEMENT = '\uFFFD';

/**
 * The UTF-16 span in `text` of each token, or undefined when the tokens do not spell the text (another tokenizer,
 * another text): the caller then colours nothing rather than the wrong words.
 */
export function tokenSpans(text: string, tokens: readonly { text: string }[]): Span[] | undefined {
  const spans: Span[] = [];
  let pos = 0;
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i].text;
    if (!t.includes(REPLACEMENT)) {
      if (!text.startsWith(t, pos)) return undefined;
      spans.push({ start: pos, end: pos + t.length });
      pos += t.length;
      i++;
      continue;
    }
    // A run of tokens that split characters: it ends where the next whole token starts.
    let j = i;
    while (j < tokens.length && tokens[j].text.includes(REPLACEMENT)) j++;
    let end: number;
    if (j === tokens.length) end = text.length;
    else {
      end = text.indexOf(tokens[j].text, pos + 1);
      if (end < 0) return undefined;
    }
    for (let k = i; k < j; k++) spans.push({ start: pos, end });
    pos = end;
    i = j;
  }
  return pos === text.length ? spans : undefined;
}
