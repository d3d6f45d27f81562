// A small TypeScript sample for LLM Lens: select some code and run "LLM Lens: Analyze Selection".

export interface Person {
  name: string;
  languages: string[];
}

/** Greets a person in the first language they speak. */
export function greet(person: Person): string {
  const greetings: Record<string, string> = {
    en: 'Hello',
    pt: 'Olá',
    es: 'Hola',
  };
  const lang = person.languages.find((l) => l in greetings) ?? 'en';
  return `${greetings[lang]}, ${person.name}!`;
}

export function fibonacci(n: number): number[] {
  const out = [0, 1];
  while (out.length < n) {
    out.push(out[out.length - 1] + out[out.length - 2]);
  }
  return out.slice(0, n);
}

console.log(greet({ name: 'Ada', languages: ['pt', 'en'] }));
console.log(fibonacci(10).join(', '));
