// extension.js against a stand-in for VS Code's API and for vscode-languageclient:
// what it starts, for which documents, and what it says when the server is missing.
// Run with `node --test tests/` (npm test runs it too).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const EXTENSION = path.join(__dirname, '..', 'extension.js');
const WINDOWS = process.platform === 'win32';

/** A fresh extension.js, loaded against fakes: `settings`, `folders` and `start` say how they behave. */
function load({ settings = {}, folders = [], start = async () => {} } = {}) {
  const seen = { errors: [], clients: [], commands: {}, configListeners: [], clipboard: [] };
  const vscode = {
    workspace: {
      workspaceFolders: folders.map((folder) => ({ uri: { scheme: 'file', fsPath: folder } })),
      getConfiguration: (section) => {
        assert.equal(section, 'policydsl');
        return { get: (key) => settings[key] };
      },
      onDidChangeConfiguration: (listener) => {
        seen.configListeners.push(listener);
        return { dispose() {} };
      },
    },
    window: {
      createOutputChannel: (name) => ({ name, lines: [], appendLine(line) { this.lines.push(line); }, show() {}, dispose() {} }),
      showErrorMessage: async (message, ...items) => {
        seen.errors.push({ message, items });
        return undefined;
      },
    },
    commands: {
      registerCommand: (id, callback) => {
        seen.commands[id] = callback;
        return { dispose() {} };
      },
      executeCommand: async () => {},
    },
    env: { clipboard: { writeText: async (text) => seen.clipboard.push(text) } },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, stopped: false });
      seen.clients.push(this);
    }
    start() {
      return start(this);
    }
    async stop() {
      this.stopped = true;
    }
  }
  const languageclient = { LanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return languageclient;
    return load.call(this, request, ...rest);
  };
  try {
    delete require.cache[require.resolve(EXTENSION)];
    const extension = require(EXTENSION);
    const context = { subscriptions: [] };
    return { extension, context, seen, languageclient };
  } finally {
    Module._load = load;
  }
}

/** A directory with an executable `policydsl` in it (and `policydsl.cmd` on Windows). */
function fakeServer(dir, name = 'policydsl') {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, WINDOWS ? `${name}.cmd` : name);
  fs.writeFileSync(file, WINDOWS ? '@echo off\r\n' : '#!/bin/sh\n');
  fs.chmodSync(file, 0o755);
  return file;
}

function withPath(dirs, body) {
  const saved = process.env.PATH;
  process.env.PATH = dirs.join(path.delimiter);
  return Promise.resolve()
    .then(body)
    .finally(() => {
      process.env.PATH = saved;
    });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'policydsl-client-'));

test('it starts `policydsl lsp` over stdio for policydsl documents', async () => {
  const bin = path.join(tmp(), 'bin');
  const server = fakeServer(bin);
  await withPath([bin], async () => {
    const { extension, context, seen } = load();
    await extension.activate(context);
    assert.equal(seen.errors.length, 0, JSON.stringify(seen.errors));
    assert.equal(seen.clients.length, 1);
    const [client] = seen.clients;
    assert.equal(client.id, 'policydsl');
    assert.equal(client.serverOptions.command, server);
    assert.deepEqual(client.serverOptions.args, ['lsp']);
    assert.equal(client.serverOptions.transport, 0);
    assert.ok(client.clientOptions.documentSelector.every((selector) => selector.language === 'policydsl'));
    assert.ok(client.clientOptions.documentSelector.some((selector) => selector.scheme === 'file'));
    assert.equal(client.clientOptions.synchronize.configurationSection, 'policydsl');
    assert.deepEqual(client.clientOptions.initializationOptions, { asOf: undefined });
    assert.ok(seen.commands['policydsl.restartServer'], 'the restart command is registered');
    assert.ok(context.subscriptions.length >= 3);
    await extension.deactivate();
    assert.ok(client.stopped);
  });
});

test('a missing command is a clear error that says how to install it', async () => {
  await withPath([path.join(tmp(), 'empty')], async () => {
    const { extension, context, seen } = load();
    await extension.activate(context);
    assert.equal(seen.clients.length, 0);
    assert.equal(seen.errors.length, 1);
    const { message, items } = seen.errors[0];
    assert.match(message, /"policydsl" was not found/);
    assert.ok(message.includes("install policydsl: pip install 'policydsl[lsp]'"), message);
    assert.deepEqual(items, ['Copy install command', 'Open settings']);
  });
});

test("the settings choose the command, its arguments, its environment and the server's day", async () => {
  const dir = tmp();
  const server = fakeServer(path.join(dir, 'tools'), 'my-policydsl');
  await withPath([path.join(dir, 'empty')], async () => {
    const settings = {
      'server.command': '${workspaceFolder}/tools/' + path.basename(server),
      'server.args': ['lsp', '--log', 'debug'],
      'server.env': { POLICYDSL_TRACE: '1' },
      asOf: '2025-07-01',
    };
    const { extension, context, seen } = load({ settings, folders: [dir] });
    await extension.activate(context);
    assert.equal(seen.errors.length, 0, JSON.stringify(seen.errors));
    const [client] = seen.clients;
    assert.equal(client.serverOptions.command, server);
    assert.deepEqual(client.serverOptions.args, ['lsp', '--log', 'debug']);
    assert.equal(client.serverOptions.options.env.POLICYDSL_TRACE, '1');
    assert.equal(client.serverOptions.options.cwd, dir);
    assert.deepEqual(client.clientOptions.initializationOptions, { asOf: '2025-07-01' });
  });
});

test("without it on PATH, the workspace's .venv is where it looks next", async () => {
  const folder = tmp();
  const server = fakeServer(path.join(folder, '.venv', WINDOWS ? 'Scripts' : 'bin'));
  await withPath([path.join(folder, 'empty')], async () => {
    const { extension, context, seen } = load({ folders: [folder] });
    await extension.activate(context);
    assert.equal(seen.errors.length, 0, JSON.stringify(seen.errors));
    assert.equal(seen.clients[0].serverOptions.command, server);
  });
});

test('a path that does not exist, and a server that will not start, are errors too', async () => {
  await withPath([path.join(tmp(), 'empty')], async () => {
    const { extension, context, seen } = load({ settings: { 'server.command': '/nowhere/policydsl' } });
    await extension.activate(context);
    assert.equal(seen.clients.length, 0);
    assert.ok(seen.errors[0].message.includes('"/nowhere/policydsl" was not found'), seen.errors[0].message);
  });
  const bin = path.join(tmp(), 'bin');
  fakeServer(bin);
  await withPath([bin], async () => {
    const start = async () => {
      throw new Error('Connection closed before initialize');
    };
    const { extension, context, seen } = load({ start });
    await extension.activate(context);
    assert.equal(seen.errors.length, 1);
    assert.match(seen.errors[0].message, /did not start the language server \(Connection closed before initialize\)/);
    assert.ok(seen.errors[0].message.includes("pip install 'policydsl[lsp]'"));
    assert.ok(seen.clients[0].stopped);
  });
  await withPath([bin], async () => {
    const start = async () => {
      throw Object.assign(new Error('spawn policydsl ENOENT'), { code: 'ENOENT' });
    };
    const { extension, context, seen } = load({ start });
    await extension.activate(context);
    assert.match(seen.errors[0].message, /was not found; install policydsl/);
  });
});

test('changing a server setting, or the restart command, starts a new server', async () => {
  const bin = path.join(tmp(), 'bin');
  fakeServer(bin);
  await withPath([bin], async () => {
    const { extension, context, seen } = load();
    await extension.activate(context);
    assert.equal(seen.clients.length, 1);
    await seen.commands['policydsl.restartServer']();
    assert.equal(seen.clients.length, 2);
    assert.ok(seen.clients[0].stopped);
    const [listener] = seen.configListeners;
    listener({ affectsConfiguration: (section) => section === 'editor.fontSize' });
    await extension.deactivate();
    assert.equal(seen.clients.length, 2, 'an unrelated setting changes nothing');
  });
  await withPath([bin], async () => {
    const { extension, context, seen } = load();
    await extension.activate(context);
    seen.configListeners[0]({ affectsConfiguration: (section) => section === 'policydsl.server' });
    await extension.deactivate();
    assert.equal(seen.clients.length, 2);
    assert.ok(seen.clients.every((client) => client.stopped));
  });
});

test('the real vscode-languageclient/node exports what extension.js uses', () => {
  // Load the installed library against a stand-in `vscode` that has a class for each name
  // the library reads from it, to check the API (LanguageClient, TransportKind.stdio).
  const main = require.resolve('vscode-languageclient/node', { paths: [path.dirname(EXTENSION)] });  // lib/node/main.js
  const names = new Set();
  (function walk(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.js')) {
        for (const match of fs.readFileSync(file, 'utf8').matchAll(/\b(?:code|vscode|vscode_1)\.([A-Za-z_]\w*)/g)) names.add(match[1]);
      }
    }
  })(path.resolve(main, '..', '..'));
  const stub = Object.fromEntries([...names].map((name) => [name, class {}]));
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === 'vscode' ? stub : load.call(this, request, ...rest);
  };
  try {
    const library = Module.createRequire(EXTENSION)('vscode-languageclient/node');
    assert.equal(typeof library.LanguageClient, 'function');
    assert.equal(library.TransportKind.stdio, 0);
  } finally {
    Module._load = load;
  }
});
