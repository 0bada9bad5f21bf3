// Every policy file of the repository (policies/ and tests/data/) through the grammar, the
// way VS Code reads it: no character outside a scope (what the language does not accept is
// `invalid.illegal`, which no bundled policy in policies/ has), and nothing left open at the end (a
// rule written after the file's last line is still a rule, not part of a string, a bracket
// or a block the grammar never closed). Skipped when the extension is used outside the
// repository.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const oniguruma = require('vscode-oniguruma');
const textmate = require('vscode-textmate');

const HERE = path.join(__dirname, '..');
const REPOSITORY = path.resolve(HERE, '..', '..');
const GRAMMAR = path.join(HERE, 'syntaxes', 'policydsl.tmLanguage.json');
const SENTINEL = 'rule sentinel_after_the_file: int = 1';

function policyFiles(dir, found = []) {
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) policyFiles(file, found);
    else if (entry.isFile() && entry.name.endsWith('.policy')) found.push(file);
  }
  return found;
}

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === 'source.policydsl' ? textmate.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null,
  });
  return registry.loadGrammar('source.policydsl');
}

const files = [...policyFiles(path.join(REPOSITORY, 'policies')), ...policyFiles(path.join(REPOSITORY, 'tests', 'data'))];

test('every policy file of the repository highlights completely', { skip: files.length === 0 && 'not inside the policydsl repository' }, async () => {
  const grammar = await loadGrammar();
  const problems = [];
  for (const file of files) {
    const name = path.relative(REPOSITORY, file);
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    const bundled = !path.relative(path.join(REPOSITORY, 'policies'), file).startsWith('..');
    let state = textmate.INITIAL;
    lines.forEach((line, index) => {
      const { tokens, ruleStack } = grammar.tokenizeLine(line, state);
      state = ruleStack;
      for (const token of tokens) {
        const text = line.slice(token.startIndex, token.endIndex);
        if (text.trim() && token.scopes.length === 1) problems.push(`${name}:${index + 1}:${token.startIndex + 1}: no scope for ${JSON.stringify(text)}`);
        if (bundled && token.scopes.some((scope) => scope.startsWith('invalid.'))) {
          problems.push(`${name}:${index + 1}:${token.startIndex + 1}: ${JSON.stringify(text)} is marked invalid in a bundled policy`);
        }
      }
    });
    for (const line of ['', SENTINEL]) {
      const { tokens, ruleStack } = grammar.tokenizeLine(line, state);
      state = ruleStack;
      if (line === SENTINEL) {
        const scopes = tokens[0].scopes;
        if (scopes.join(' ') !== 'source.policydsl meta.definition.rule.policydsl storage.type.rule.policydsl') {
          problems.push(`${name}: a rule after the last line is read as ${scopes.join(' ')}: something is left open`);
        }
      }
    }
  }
  assert.ok(files.length > 10, `only ${files.length} policy files found`);
  assert.deepEqual(problems, []);
});
