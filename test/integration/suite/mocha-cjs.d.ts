// mocha 12's main entry is ESM; the suite loads its CommonJS build directly so that a plain
// require() in any extension host (code-server's Node 20, desktop Electron) gets the Mocha class.
declare module 'mocha/lib/mocha.cjs' {
  export = Mocha; // the global class @types/mocha declares
}
