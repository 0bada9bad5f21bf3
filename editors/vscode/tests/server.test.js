// The command the extension starts, `policydsl lsp`, spoken to as the extension's client speaks
// to it: over stdio, with the same initializationOptions and the `policydsl` settings section.
// The server is $POLICYDSL_COMMAND, else the repository's .venv/bin/policydsl, else `policydsl`
// on PATH; skipped when there is none (or it lacks the lsp extra).
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const test = require('node:test');
const protocol = require('vscode-languageserver-protocol/node');

const REPOSITORY = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE = path.join(REPOSITORY, 'policies', 'example', 'resident-2025.policy');
const { findCommand } = loadFindCommand();

function loadFindCommand() {
  // extension.js needs `vscode` only when it is activated; give it an empty one to load.
  const Module = require('node:module');
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return {};
    if (request === 'vscode-languageclient/node') return { LanguageClient: class {}, TransportKind: { stdio: 0 } };
    return load.call(this, request, ...rest);
  };
  try {
    return require('../extension.js');
  } finally {
    Module._load = load;
  }
}

function server() {
  const command = process.env.POLICYDSL_COMMAND || findCommand('policydsl', [REPOSITORY], process.env);
  if (!command || !fs.existsSync(EXAMPLE)) return undefined;
  const help = spawnSync(command, ['lsp', '--help'], { encoding: 'utf8', timeout: 60_000 });
  return help.status === 0 ? command : undefined;
}

const COMMAND = server();

test('policydsl lsp answers the client over stdio', { skip: !COMMAND && 'no policydsl with the lsp command here', timeout: 120_000 }, async () => {
  const child = spawn(COMMAND, ['lsp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const connection = protocol.createProtocolConnection(
    new protocol.StreamMessageReader(child.stdout),
    new protocol.StreamMessageWriter(child.stdin),
  );
  const diagnostics = new Map();
  const waiting = new Map();
  const messages = [];
  connection.onNotification(protocol.PublishDiagnosticsNotification.type, (params) => {
    diagnostics.set(params.uri, params.diagnostics);
    const resolve = waiting.get(params.uri);
    if (resolve) resolve(params.diagnostics);
  });
  connection.onNotification(protocol.ShowMessageNotification.type, (params) => messages.push(params.message));
  connection.onNotification(protocol.LogMessageNotification.type, () => {});
  connection.onRequest(protocol.ConfigurationRequest.type, (params) => params.items.map(() => ({ asOf: '2025-07-01' })));
  connection.onRequest(protocol.RegistrationRequest.type, () => null);
  connection.listen();
  const published = (uri) =>
    new Promise((resolve) => {
      if (diagnostics.has(uri)) resolve(diagnostics.get(uri));
      else waiting.set(uri, resolve);
    });
  try {
    const { capabilities } = await connection.sendRequest(protocol.InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(REPOSITORY).href,
      workspaceFolders: [{ uri: pathToFileURL(REPOSITORY).href, name: 'policydsl' }],
      capabilities: { textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } } },
      initializationOptions: { asOf: '2025-07-01' },
    });
    assert.ok(capabilities.hoverProvider, JSON.stringify(capabilities));
    assert.ok(capabilities.definitionProvider, JSON.stringify(capabilities));
    await connection.sendNotification(protocol.InitializedNotification.type, {});
    // what vscode-languageclient sends for `synchronize.configurationSection: 'policydsl'`
    await connection.sendNotification(protocol.DidChangeConfigurationNotification.type, {
      settings: { policydsl: { asOf: '2025-07-01', server: { command: 'policydsl', args: ['lsp'], env: {} }, trace: { server: 'off' } } },
    });

    const example = pathToFileURL(EXAMPLE).href;
    const text = fs.readFileSync(EXAMPLE, 'utf8');
    await connection.sendNotification(protocol.DidOpenTextDocumentNotification.type, {
      textDocument: { uri: example, languageId: 'policydsl', version: 1, text },
    });
    assert.deepEqual(
      (await published(example)).filter((d) => d.severity === 1),
      [],
      'the example policy has no errors',
    );
    const line = text.split('\n').findIndex((l) => l.startsWith('rule eligible'));
    const hover = await connection.sendRequest(protocol.HoverRequest.type, {
      textDocument: { uri: example },
      position: { line, character: 'rule '.length + 2 },
    });
    assert.ok(hover && JSON.stringify(hover.contents).includes('eligible'), JSON.stringify(hover));

    const broken = pathToFileURL(path.join(path.dirname(EXAMPLE), 'unsaved-broken.policy')).href;
    await connection.sendNotification(protocol.DidOpenTextDocumentNotification.type, {
      textDocument: { uri: broken, languageId: 'policydsl', version: 1, text: 'input { a: money }\nrule r: money = a + nowhere\noutput r\n' },
    });
    const errors = await published(broken);
    assert.ok(errors.some((d) => d.severity === 1 && d.range.start.line === 1), JSON.stringify(errors));
    assert.deepEqual(messages, [], 'the settings the client sends are understood');

    await connection.sendRequest(protocol.ShutdownRequest.type);
    await connection.sendNotification(protocol.ExitNotification.type);
  } catch (error) {
    error.message += `\nserver stderr:\n${stderr}`;
    throw error;
  } finally {
    connection.dispose();
    child.kill();
  }
});
